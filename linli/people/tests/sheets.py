"""Residents sheets for tests, built with openpyxl the way real ones arrive.

``messy_sheet_bytes()`` is the sheet a community office really sends: two merged title rows above a header
written in its own words, an extra 序号 column, trailing spaces, full-width digits and letters, ID numbers
saved as numbers, dates as Excel serials and as text, blank rows, a footer line, and one mistake of each kind.
Imported by staff_a into 梅园社区 of ``linli.core.testing.make_world()`` it gives exactly ``MESSY_VALID_ROWS``
valid rows and the row errors ``MESSY_ERRORS`` (row as Excel shows it, column, code). Browser tests assert
against these constants too.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from linli.core.identity import id_check_digit
from linli.people.imports.columns import COLUMNS

REGION = "421202"
ESTATE = "祥和苑"  # the estate of community A in make_world()
UNKNOWN_ESTATE = "幸福里小区"
COMMUNITY_B_ID = "42120219850720001X"  # 李建国, registered in community B by make_world()
_FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def make_id(birth: str, seq: int, *, male: bool, region: str = REGION) -> str:
    """A valid 18-character ID number: region, birth date (YYYYMMDD), order code (odd for men), check digit."""
    first17 = f"{region}{birth}{(seq * 2 + (1 if male else 0)) % 1000:03d}"
    return first17 + id_check_digit(first17)


def id_with_x(birth: str, *, male: bool) -> str:
    """The first valid ID number for ``birth`` whose check character is X."""
    return next(i for i in (make_id(birth, s, male=male) for s in range(500)) if i.endswith("X"))


def wrong_check_digit(id_number: str) -> str:
    """The same ID number with another check character: one mistyped digit."""
    return id_number[:17] + ("1" if id_number[17] == "0" else "0")


def excel_serial(day: dt.date) -> int:
    return (day - dt.date(1899, 12, 30)).days


def full_width(text: str) -> str:
    return text.translate(_FULL_WIDTH)


# The people of the messy sheet.
ZHANG_WEI = make_id("19800512", 12, male=True)
LI_NA = id_with_x("19820816", male=False)
WANG_XIAOMING = make_id("20100307", 3, male=True)
ZHAO_LIHUA = make_id("19450301", 40, male=False)
SUN_QIANG = make_id("19751130", 7, male=True)
FLOAT_ID = make_id("19900101", 5, male=True)
ROUNDED_ID = make_id("19920304", 61, male=False)
BAD_CHECK_ID = wrong_check_digit(make_id("19880808", 9, male=True))
MISMATCH_ID = make_id("19700220", 15, male=False)

MESSY_HEADER = ["序号", "小区名称", "楼号", "单元", "房间号", "姓名 ", "性别", "出生年月", "身份证号码（必填）", "联系电话",
                "与户主关系", "民族", "特殊人群类别", "入住时间", "备注"]
MESSY_HEADER_ROW = 3


def _messy_rows(estate: str) -> list[list[object]]:
    e = estate
    return [
        # 4: trailing spaces, a birth date as an Excel serial, a phone in full-width digits
        [1, e, "1", "1", "101", "张伟 ", "男", excel_serial(dt.date(1980, 5, 12)), ZHANG_WEI, full_width("13912345678"),
         "户主", "汉族", "党员", "2015/6/1", "  楼长 "],
        # 5: full-width ID number ending in X, a birth date as Chinese text, spaces after the estate
        [2, e + " ", "1栋", "1单元", "101", "李娜", "女", "1982年8月16日", full_width(LI_NA), None, "妻", "汉族", None,
         None, None],
        # 6 and 7: blank rows (the second holds only blanks and an ideographic space)
        [None] * 15,
        [None, "  ", None, "\u3000", None, None, None, None, None, None, None, None, None, None, None],
        # 8: numbers where text belongs (building, entrance, dwelling, a phone saved as a number)
        [3, e, 1.0, 1, 102, "王小明", None, None, WANG_XIAOMING, 13800001111, "子", None, "留守儿童",
         dt.datetime(2020, 1, 1), None],
        # 9: a new building written "2号楼", a move-in date as an Excel serial, a phone with separators, a grade
        [4, e, "2号楼", "2单元", "201室", "赵丽华", "女", dt.datetime(1945, 3, 1), ZHAO_LIHUA, "138-0000-2222", "业主",
         "回族", "独居老人、残疾人:2", excel_serial(dt.date(2020, 1, 1)), None],
        # 10: sex as a full-width letter, a +86 phone, dates with dots
        [5, e, "2", "2", "202", "孙强", "Ｍ", "1975-11-30", SUN_QIANG, "+86 139 0000 3333", "租户", None, None,
         "2021.3.15", None],
        # 11: the ID number saved as a number with a decimal point
        [6, e, "1", "1", "103", "周杰", "男", None, float(FLOAT_ID), None, "户主", None, None, None, None],
        # 12: the ID number saved as a number Excel rounded to 15 digits (last digits 000)
        [7, e, "1", "1", "103", "吴敏", "女", None, int(ROUNDED_ID[:15] + "000"), None, "妻", None, None, None, None],
        # 13: a mistyped digit (the check digit does not match)
        [8, e, "1", "1", "104", "郑涛", "男", None, BAD_CHECK_ID, None, "户主", None, None, None, None],
        # 14: a birth date that disagrees with the ID number
        [9, e, "1", "1", "104", "冯芳", "女", "1970-02-21", MISMATCH_ID, None, "妻", None, None, None, None],
        # 15: a care tag the platform does not know
        [10, e, "1", "1", "105", "陈静", None, None, make_id("19600606", 21, male=False), None, "户主", None, "孤寡", None,
         None],
        # 16: an estate that is not in the community
        [11, UNKNOWN_ESTATE, "1", "1", "101", "褚刚", None, None, make_id("19660909", 30, male=True), None, "户主", None,
         None, None, None],
        # 17: the same person as row 4 a second time
        [12, e, "3", "1", "301", "张伟", "男", None, ZHANG_WEI, None, "户主", None, None, None, None],
        # 18: a person registered in community B (outside staff_a's area)
        [13, e, "3", "1", "302", "李建国", "男", None, COMMUNITY_B_ID, None, "户主", None, None, None, None],
        # 19: the footer line offices add under the table (only the 序号 column, which is not imported)
        ["制表人：张三　审核人：李四", None, None, None, None, None, None, None, None, None, None, None, None, None, None],
    ]


MESSY_TOTAL_ROWS = 13  # non-blank rows under the header, the footer line excluded
MESSY_VALID_ROWS = 5  # rows 4, 5, 8, 9, 10
MESSY_ERRORS: list[tuple[int, str, str]] = [
    (11, "身份证号", "stored_as_number"),
    (12, "身份证号", "stored_as_number"),
    (13, "身份证号", "check_digit"),
    (14, "出生日期", "mismatch_id"),
    (15, "特殊人群", "unknown_tag"),
    (16, "小区", "unknown_estate"),
    (17, "身份证号", "duplicate_in_sheet"),
    (18, "身份证号", "outside_scope"),
]
# What the valid rows become: (name, ID number, phone, building, entrance, dwelling, relation, tag codes).
MESSY_RESIDENTS = [
    ("张伟", ZHANG_WEI, "13912345678", "1栋", "1单元", "101", "head", ["party_member"]),
    ("李娜", LI_NA, "", "1栋", "1单元", "101", "member", []),
    ("王小明", WANG_XIAOMING, "13800001111", "1栋", "1单元", "102", "member", ["left_behind_child"]),
    ("赵丽华", ZHAO_LIHUA, "13800002222", "2栋", "2单元", "201", "owner", ["disabled", "elderly_alone"]),
    ("孙强", SUN_QIANG, "13900003333", "2栋", "2单元", "202", "tenant", []),
]


def messy_sheet_bytes(estate: str = ESTATE) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["梅园社区居民信息登记表（2026年4月）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(MESSY_HEADER))
    ws.append(["填报单位：梅园社区居委会　　填报日期：2026年4月23日"])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(MESSY_HEADER))
    ws.append(MESSY_HEADER)
    for row in _messy_rows(estate):
        ws.append(row)
    return _save(wb)


def sheet_bytes(rows: list[list[object]], header: list[str] | None = None) -> bytes:
    """A plain sheet: the template's header (or ``header``) in row 1, then ``rows``; text cells stay text."""
    wb = Workbook()
    ws = wb.active
    ws.append(header or [c.zh for c in COLUMNS])
    for row in rows:
        ws.append(row)
    return _save(wb)


def resident_row(*, name: str, id_number: str, building: str = "1栋", entrance: str = "1单元", dwelling: str = "101",
                 estate: str = ESTATE, phone: str = "", relation: str = "户主", tags: str = "", sex: str = "",
                 birth_date: object = None, ethnicity: str = "", since: object = None, notes: str = "") -> list[object]:
    """One row in the template's column order."""
    values = {"estate": estate, "building": building, "entrance": entrance, "dwelling": dwelling, "name": name,
              "sex": sex, "birth_date": birth_date, "id_number": id_number, "phone": phone, "relation": relation,
              "ethnicity": ethnicity, "tags": tags, "since": since, "notes": notes}
    return [values[c.field] for c in COLUMNS]


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- workbooks as Excel writes them

@dataclass(frozen=True)
class Rich:
    """A shared string in rich-text runs, optionally with a phonetic reading (which is not part of the value)."""

    runs: tuple[str, ...]
    phonetic: str = ""


@dataclass(frozen=True)
class Formula:
    """A formula cell with the value Excel cached for it."""

    expression: str
    cached: object


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_RELS_NS = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STYLES = (f'<styleSheet {_NS}><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy/m/d"/></numFmts>'
           '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
           '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
           '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
           '<cellXfs count="4"><xf numFmtId="0" xfId="0"/><xf numFmtId="14" xfId="0" applyNumberFormat="1"/>'
           '<xf numFmtId="49" xfId="0" applyNumberFormat="1"/><xf numFmtId="164" xfId="0" applyNumberFormat="1"/>'
           '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
           '</styleSheet>')
DATE_STYLE, TEXT_STYLE, CUSTOM_DATE_STYLE = 1, 2, 3


def excel_xlsx(rows: Iterable[list[object]], *, sheet: str = "Sheet1", date1904: bool = False,
               first_row: int = 1) -> bytes:
    """An xlsx laid out as Excel saves it (openpyxl writes inline strings and no phonetic runs): a shared-string
    table, a <dimension>, dates as serial numbers in a date style, and cells given by reference, so empty cells
    and rows are simply absent. Strings go to the shared table; ``Rich`` and ``Formula`` cells as described."""
    strings: dict[object, int] = {}
    epoch = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    body: list[str] = []
    last_row = width = 0
    for number, values in enumerate(rows, start=first_row):
        cells = []
        for col, value in enumerate(values, start=1):
            if value is None:
                continue
            cells.append(_cell(f"{get_column_letter(col)}{number}", value, strings, epoch))
            width = max(width, col)
        if cells:
            body.append(f'<row r="{number}">{"".join(cells)}</row>')
            last_row = number
    dimension = f"A1:{get_column_letter(max(width, 1))}{max(last_row, 1)}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", f'<Relationships {_RELS_NS}><Relationship Id="rId1" Type="{_DOC_REL}/officeDocument" '
                                  'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<Relationships {_RELS_NS}>'
                   f'<Relationship Id="rId1" Type="{_DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                   f'<Relationship Id="rId2" Type="{_DOC_REL}/sharedStrings" Target="sharedStrings.xml"/>'
                   f'<Relationship Id="rId3" Type="{_DOC_REL}/styles" Target="styles.xml"/></Relationships>')
        calendar = ' date1904="1"' if date1904 else ""
        z.writestr("xl/workbook.xml", f'<workbook {_NS} xmlns:r="{_DOC_REL}"><workbookPr{calendar}/><sheets>'
                   f'<sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/styles.xml", _STYLES)
        z.writestr("xl/sharedStrings.xml", f'<sst {_NS} count="{len(strings)}" uniqueCount="{len(strings)}">'
                   + "".join(_shared(s) for s in strings) + "</sst>")
        z.writestr("xl/worksheets/sheet1.xml", f'<worksheet {_NS}><dimension ref="{dimension}"/><sheetData>'
                   + "".join(body) + "</sheetData></worksheet>")
    return buf.getvalue()


_CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'
)


def _shared(value: object) -> str:
    if isinstance(value, Rich):
        runs = "".join(f'<r><rPr><sz val="11"/></rPr><t xml:space="preserve">{escape(t)}</t></r>' for t in value.runs)
        phonetic = f'<rPh sb="0" eb="1"><t>{escape(value.phonetic)}</t></rPh>' if value.phonetic else ""
        return f"<si>{runs}{phonetic}</si>"
    return f'<si><t xml:space="preserve">{escape(str(value))}</t></si>'


def _cell(ref: str, value: object, strings: dict[object, int], epoch: dt.datetime) -> str:
    if isinstance(value, Formula):
        cached = value.cached
        kind = ' t="str"' if isinstance(cached, str) else ""
        return f'<c r="{ref}"{kind}><f>{escape(value.expression)}</f><v>{escape(str(cached))}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (dt.date, dt.datetime)):
        moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        serial = (moment - epoch) / dt.timedelta(days=1)
        return f'<c r="{ref}" s="{DATE_STYLE}"><v>{serial!r}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    index = strings.setdefault(value, len(strings))
    return f'<c r="{ref}" s="{TEXT_STYLE}" t="s"><v>{index}</v></c>'

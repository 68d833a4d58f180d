"""The residents import template: the data sheet with its header, and an instructions sheet in Chinese and English."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..choices import Relation
from ..models import CareTag
from .columns import COLUMNS, REQUIRED, SENSITIVE
from .export import SHEET_TITLE, TEXT_FORMAT, prepare_sheet

DATA_ROWS = 5000  # rows the drop-down lists cover
NOTES: dict[str, tuple[str, str]] = {
    "estate": ("导入到社区时必填，须是该社区已有的小区；导入到小区时可留空",
               "required when importing into a community (an existing estate of it); may be blank for an estate"),
    "building": ("如 1、1栋、1号楼（均视为“1栋”）；不存在的楼栋会自动创建",
                 "e.g. 1, 1栋, 1号楼 (all mean 1栋); missing buildings are created"),
    "entrance": ("如 1、1单元；不存在的单元会自动创建", "e.g. 1 or 1单元; missing entrances are created"),
    "dwelling": ("如 101；不存在的房屋会自动创建", "e.g. 101; missing dwellings are created"),
    "name": ("不能含数字或符号", "no digits or symbols"),
    "sex": ("男 / 女；留空时按身份证号", "男 / 女 (male / female); blank: taken from the ID number"),
    "birth_date": ("如 1950-03-15；须与身份证号一致；留空时按身份证号",
                   "e.g. 1950-03-15; must agree with the ID number; blank: taken from it"),
    "id_number": ("18位，末位可为X；请保持“文本”格式，否则Excel会丢失末几位；同一人只登记一次",
                  "18 characters, the last may be X; keep the column formatted as text or Excel loses the last "
                  "digits; one row per person"),
    "phone": ("11位手机号", "11-digit mobile number"),
    "relation": ("业主 / 户主 / 家庭成员 / 租户（也可写配偶、子、女等）；留空视为家庭成员",
                 "owner / head / member / tenant (spouse, son, daughter ... count as member); blank: member"),
    "ethnicity": ("如 汉族", "e.g. 汉族 (Han)"),
    "tags": ("多个用顿号分隔，如 独居老人、党员；残疾人可写等级，如 残疾人:2",
             "several separated by 、 e.g. 独居老人、党员; disability with a grade, e.g. 残疾人:2"),
    "since": ("如 2020-05-01", "e.g. 2020-05-01"),
    "notes": ("", ""),
}
GENERAL = (
    ("每行一位居民。表头须保留在第一行（上方可以有标题行）；空行会被跳过。",
     "One resident per row. Keep the header row (title rows above it are fine); blank rows are skipped."),
    ("同一身份证号已登记的居民会被更新（空白单元格不会清除原有信息），不会重复创建；再次导入同一表格不会产生任何变化。",
     "A person already registered with the same ID number is updated (blank cells keep what is stored), never "
     "created twice; importing the same sheet again changes nothing."),
    ("有错误的行不会导入：上传后会列出每一行的行号、列和原因，您可以选择只导入正确的行或全部放弃。",
     "Rows with errors are not imported: after upload every rejected row is listed with its row, column and "
     "reason, and you choose to keep the valid rows or nothing."),
)


def template_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    prepare_sheet(ws)
    ws.append([c.zh for c in COLUMNS])
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for index, col in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True, color="C00000" if col.field in REQUIRED else "000000")
        cell.fill = header_fill
        if col.field in SENSITIVE:
            ws.column_dimensions[get_column_letter(index)].number_format = TEXT_FORMAT
    _choices(ws, "sex", ["男", "女"])
    _choices(ws, "relation", [str(r.label) for r in Relation])
    _instructions(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _choices(ws, field: str, words: list[str]) -> None:
    letter = get_column_letter([c.field for c in COLUMNS].index(field) + 1)
    # A warning, not a stop: staff may still write other accepted words (配偶, 子 ...).
    dv = DataValidation(type="list", formula1=f'"{",".join(words)}"', allow_blank=True, errorStyle="warning",
                        showErrorMessage=True, error="请从列表中选择 / choose from the list")
    dv.add(f"{letter}2:{letter}{DATA_ROWS + 1}")
    ws.add_data_validation(dv)


def _instructions(wb: Workbook) -> None:
    ws = wb.create_sheet("填写说明 Instructions")
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for zh, en in GENERAL:
        ws.append([zh, "", "", en])
    ws.append([])
    ws.append(["列 Column", "必填 Required", "说明", "Notes"])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for col in COLUMNS:
        required = "是 yes" if col.field in REQUIRED else ("社区导入时 for a community" if col.field == "estate" else "")
        zh, en = NOTES[col.field]
        ws.append([f"{col.zh} {col.en}", required, zh, en])
    ws.append([])
    ws.append(["特殊人群标签 Care tags"])
    ws[ws.max_row][0].font = bold
    for tag in CareTag.objects.filter(active=True).order_by("sort", "pk"):
        ws.append([tag.name, tag.name_en, "可带等级 grade 1-4" if tag.has_grade else ""])
    for letter, width in (("A", 24), ("B", 22), ("C", 60), ("D", 70)):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows():
        for cell in row:
            cell.alignment = wrap

"""The pieces under the import: the xlsx reader (against openpyxl), headers, cells, place names, staged rows."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook as OpenpyxlWorkbook
from openpyxl import load_workbook

from linli.people.imports.columns import field_for_header
from linli.people.imports.locations import building_name, dwelling_name, entrance_name
from linli.people.imports.staged import StagedRow, StagedWriter, read_header, read_rows
from linli.people.imports.validate import StoredAsNumber, cell_text, date_cell, id_cell
from linli.people.imports.xlsx import BadWorkbook, Workbook

from . import sheets


def openpyxl_rows(data: bytes) -> list[tuple[int, list[object]]]:
    """Rows as openpyxl's read-only mode gives them, without the padding and the blank rows it adds."""
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    out = []
    for number, row in enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1):
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        if values:
            out.append((number, values))
    wb.close()
    return out


def our_rows(data: bytes) -> list[tuple[int, list[object]]]:
    wb = Workbook(data)
    rows = [(n, v) for n, v in wb.rows(wb.sheets[0]) if v]
    wb.close()
    return rows


# ---------------------------------------------------------------- the xlsx reader

def test_given_an_excel_style_workbook_when_read_then_values_match_openpyxl():
    data = sheets.excel_xlsx([
        ["姓名", "身份证号", "入住", "", "是否"],
        ["王<&>\"秀英", 421202195003150027, dt.date(2020, 1, 1), None, True],
        [sheets.Rich(("李", "建国"), phonetic="li jian guo"), 4.2120219500315e17, dt.datetime(2021, 3, 15, 8, 30)],
        [],
        [sheets.Formula('A2&"X"', "王X"), sheets.Formula("1+1", 2), " 前后空格 ", 13800138000, False],
    ])
    ours = our_rows(data)
    assert ours == openpyxl_rows(data)
    assert ours[2] == (3, ["李建国", 4.2120219500315e17, dt.datetime(2021, 3, 15, 8, 30)])
    assert [n for n, _ in ours] == [1, 2, 3, 5]


def test_given_the_1904_calendar_when_read_then_dates_match_openpyxl():
    data = sheets.excel_xlsx([["日期"], [dt.date(1999, 12, 31)], [dt.date(2026, 4, 23)]], date1904=True)
    assert our_rows(data) == openpyxl_rows(data) == [(1, ["日期"]), (2, [dt.datetime(1999, 12, 31)]),
                                                     (3, [dt.datetime(2026, 4, 23)])]


def test_given_openpyxl_written_sheets_when_read_then_values_match_openpyxl():
    """openpyxl writes inline strings and merged cells; the messy sheet and an export have both."""
    for data in (sheets.messy_sheet_bytes(), sheets.sheet_bytes([sheets.resident_row(name="甲", id_number="1")])):
        assert our_rows(data) == openpyxl_rows(data)


_cells = st.one_of(
    st.none(), st.booleans(), st.integers(-10**15, 10**15), st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.dates(dt.date(1901, 1, 1), dt.date(2099, 12, 31)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_cells, max_size=6), min_size=1, max_size=8), st.booleans())
def test_given_any_grid_of_values_when_written_by_openpyxl_then_our_reader_agrees(grid, write_only):
    wb = OpenpyxlWorkbook(write_only=write_only)
    ws = wb.create_sheet() if write_only else wb.active
    for row in grid:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    assert our_rows(buf.getvalue()) == openpyxl_rows(buf.getvalue())


def test_given_a_zip_that_is_not_a_workbook_when_opened_then_bad_workbook():
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    with pytest.raises(BadWorkbook):
        Workbook(buf.getvalue())


# ---------------------------------------------------------------- cells and headers

@pytest.mark.parametrize("value", [4.21202195003150e17, 421202195003150000, "4.21202E+17", "4.2120219500315e17"])
def test_given_an_id_number_saved_as_a_number_when_read_then_it_is_refused(value):
    with pytest.raises(StoredAsNumber):
        id_cell(value)


@pytest.mark.parametrize("value, text", [
    (421202195003150027, "421202195003150027"),  # written exactly by a program: nothing was lost
    ("４２１２０２１９５００３１５００２７ ", "421202195003150027"),
    (" 42120219850720001x", "42120219850720001x"),
    (None, ""),
])
def test_given_an_id_number_cell_when_read_then_its_text_is_kept(value, text):
    assert id_cell(value) == text


def test_given_number_and_date_cells_when_read_as_text_then_excel_artefacts_are_gone():
    assert (cell_text(101.0), cell_text(13800138000.0), cell_text(1.5)) == ("101", "13800138000", "1.5")
    assert cell_text(dt.datetime(2020, 1, 1, 0, 0)) == "2020-01-01"
    assert cell_text("ＡＢ　１２ ") == "AB 12"
    assert (date_cell(19500315), date_cell(19500315.0), date_cell(18000), date_cell("x")) == ("19500315", "19500315", 18000, "x")


@pytest.mark.parametrize("header, field", [
    ("身份证号码（必填）", "id_number"), ("*姓名", "name"), ("  联系电话 ", "phone"), ("公民身份号码", "id_number"),
    ("楼号", "building"), ("房间号", "dwelling"), ("小区名称", "estate"), ("特殊人群类别", "tags"), ("ID Number", "id_number"),
    ("Move-in date", "since"), ("出生年月", "birth_date"), ("序号", None), ("", None), (None, None),
])
def test_given_a_header_variant_when_looked_up_then_it_names_its_column(header, field):
    assert field_for_header(header) == field


@pytest.mark.parametrize("raw, building, entrance, dwelling", [
    ("1", "1栋", "1单元", "1"), ("01号楼", "1栋", "01号楼", "01号楼"), ("3幢", "3栋", "3幢", "3幢"), ("3号", "3栋", "3单元", "3"),
    ("12#", "12栋", "12#", "12#"), ("综合楼", "综合楼", "综合楼", "综合楼"), ("101室", "101室", "101室", "101"),
    ("2单元", "2单元", "2单元", "2单元"), ("1 栋", "1栋", "1 栋", "1 栋"),
])
def test_given_place_names_as_staff_write_them_when_canonicalised_then_variants_meet(raw, building, entrance, dwelling):
    assert (building_name(raw), entrance_name(raw), dwelling_name(raw)) == (building, entrance, dwelling)


# ---------------------------------------------------------------- staged rows

def test_given_staged_rows_when_written_and_read_back_then_they_round_trip_and_resume():
    writer = StagedWriter()
    rows = [StagedRow(row=n, estate_id=3, building="1栋", entrance="1单元", dwelling=str(100 + n), name="张三",
                      sex="M", birth_date="1980-05-12", id_number=f"x{n}", id_hash=f"h{n}", phone="", phone_hash="",
                      ethnicity="", notes="换行\n备注", relation="head", tags=[[1, None], [6, 2]], since=None)
            for n in range(2, 3000)]
    for row in rows:
        writer.add(row)
    blob = writer.blob(errors=7)
    assert read_header(blob) == {"rows": len(rows), "errors": 7}
    assert list(read_rows(blob)) == rows
    assert list(read_rows(blob, skip=2990)) == rows[2990:]

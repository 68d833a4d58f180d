"""Reading a residents sheet as it arrives: find the sheet and its header row, then stream the data rows.

Title rows above the header (often merged across the sheet) are skipped by looking for the first row whose
cells name enough known columns. Cells are read by linli.people.imports.xlsx, a streaming reader with
openpyxl's value semantics.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from linli.core.errors import FieldError, ValidationFailed

from .columns import BY_FIELD, field_for_header, required_fields
from .xlsx import BadWorkbook, Sheet, Workbook

HEADER_SCAN_ROWS = 30
MIN_HEADER_COLUMNS = 3
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls format


@dataclass(frozen=True)
class Header:
    sheet: Sheet
    row: int  # as Excel numbers rows, from 1
    columns: dict[str, int]  # field -> 0-based column index


def file_error(code: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(FieldError("file", code, zh, en))


def open_workbook(data: bytes) -> Workbook:
    """The workbook, or ValidationFailed on ``file`` when the bytes are not an xlsx workbook."""
    if data.startswith(OLE_MAGIC):
        raise file_error("xls", "这是旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后再上传",
                         "this is an old .xls file; save it as .xlsx in Excel and upload again")
    if not data.startswith(ZIP_MAGIC):
        raise file_error("not_xlsx", "文件不是 Excel 工作簿（.xlsx）", "the file is not an Excel workbook (.xlsx)")
    try:
        return Workbook(data)
    except BadWorkbook as exc:
        raise damaged() from exc


def damaged() -> ValidationFailed:
    return file_error("not_xlsx", "无法打开该 Excel 文件，文件可能已损坏", "the Excel file cannot be opened; it may be damaged")


def _header_in(rows: Iterator[tuple[int, list[object]]]) -> tuple[int, dict[str, int]] | None:
    for number, cells in rows:
        if number > HEADER_SCAN_ROWS:
            return None
        found: dict[str, int] = {}
        for index, value in enumerate(cells):
            field = field_for_header(value)
            if field is not None and field not in found:
                found[field] = index
        if len(found) >= MIN_HEADER_COLUMNS and ("name" in found or "id_number" in found):
            return number, found
    return None


def find_header(wb: Workbook, *, into_community: bool) -> Header:
    """The first worksheet with a header row; ValidationFailed on ``file`` when none has one or columns are missing."""
    for sheet in wb.sheets:
        try:
            located = _header_in(wb.rows(sheet))
        except BadWorkbook as exc:
            raise damaged() from exc
        if located is None:
            continue
        row, columns = located
        missing = [BY_FIELD[f] for f in required_fields(into_community) if f not in columns]
        if missing:
            raise file_error(
                "missing_columns",
                f"工作表“{sheet.title}”缺少必填列：{'、'.join(c.zh for c in missing)}",
                f"sheet {sheet.title!r} lacks required columns: {', '.join(c.en for c in missing)}",
            )
        return Header(sheet=sheet, row=row, columns=columns)
    raise file_error("no_header", "找不到表头行（需要姓名、身份证号、楼栋、单元、房号等列），请使用导入模板",
                     "no header row found (name, ID number, building, entrance, dwelling ...); use the import template")


def data_rows(wb: Workbook, header: Header) -> Iterator[tuple[int, dict[str, object]]]:
    """(row number as Excel shows it, {field: cell value}) for every stored row under the header."""
    items = list(header.columns.items())
    for number, cells in _merged_down(wb.rows(header.sheet), wb.merged_ranges(header.sheet)):
        if number <= header.row:
            continue
        width = len(cells)
        yield number, {field: cells[i] for field, i in items if i < width}


def _merged_down(rows: Iterator[tuple[int, list[object]]], ranges: list[tuple[int, int, int, int]]
                 ) -> Iterator[tuple[int, list[object]]]:
    """A value merged down over several rows (one household's building, entrance and dwelling, typically)
    belongs to each of those rows; Excel stores it in the first row only. Merges across columns keep the
    value in their first column, as Excel shows it."""
    starting: dict[int, list[tuple[int, int]]] = {}
    for first_col, first_row, _, last_row in ranges:
        if last_row > first_row:
            starting.setdefault(first_row, []).append((first_col, last_row))
    active: list[tuple[int, int, object]] = []  # column, last row, value
    for number, cells in rows:
        active = [a for a in active if a[1] >= number]
        for col, last_row in starting.get(number, ()):
            if col <= len(cells) and cells[col - 1] is not None:
                active.append((col, last_row, cells[col - 1]))
        if is_blank(cells):  # a row with nothing of its own stays blank, even inside a merged block
            yield number, cells
            continue
        for col, _, value in active:
            if len(cells) < col:
                cells.extend([None] * (col - len(cells)))
            if cells[col - 1] is None:
                cells[col - 1] = value
        yield number, cells


def is_blank(cells: Iterable[object]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def row_estimate(wb: Workbook, header: Header) -> int:
    """Rows under the header according to the sheet's stored dimension (for the progress bar only)."""
    return max(0, wb.stored_rows(header.sheet) - header.row)

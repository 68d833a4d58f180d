"""A streaming reader of cell values from xlsx workbooks, for sheets of 100,000 rows.

openpyxl's read-only mode builds an element tree node and a descriptor-checked object for every cell and
shared string, and parses a whole sheet twice when the writer left out the sheet's <dimension> element: about
4x slower than the import's budget allows. This reader hands the sheet XML straight to expat and keeps only
the values, with openpyxl's semantics: shared strings and inline strings as text (phonetic runs left out),
numbers as int or float, numbers in a date style as datetime (1900 or 1904 calendar), booleans, error codes
as text, and cached values for formulas. Styles are read with openpyxl's own stylesheet parser. Rows come out
in chunks as the compressed sheet is read, so memory stays flat whatever the size.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from xml.parsers import expat

from openpyxl.styles.stylesheet import Stylesheet
from openpyxl.utils.cell import column_index_from_string, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601
from openpyxl.xml.functions import fromstring

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CHUNK = 1 << 16
PART_MAX = 256 << 20  # a shared-string table of 100,000 rows takes about 15 MB
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')
_DIMENSION = re.compile(r'<(?:\w+:)?dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')

Row = tuple[int, list[object]]


class BadWorkbook(ValueError):
    """The zip is not a spreadsheet workbook this reader understands."""


@dataclass(frozen=True)
class Sheet:
    title: str
    path: str


def _parser(start: Callable, end: Callable | None = None, text: Callable | None = None) -> expat.XMLParserType:
    p = expat.ParserCreate(namespace_separator=" ")
    p.buffer_text = True
    p.StartElementHandler = start
    if end is not None:
        p.EndElementHandler = end
    if text is not None:
        p.CharacterDataHandler = text
    return p


def _local(name: str) -> str:
    """'namespace tag' (expat with a namespace separator) -> 'tag'."""
    return name.rpartition(" ")[2]


class Workbook:
    """The worksheets of an xlsx file and their rows of values."""

    def __init__(self, data: bytes):
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            book = self._target(self._relations("_rels/.rels", ""), "/officeDocument")
            rels = self._relations(posixpath.join(posixpath.dirname(book), "_rels", posixpath.basename(book) + ".rels"),
                                   posixpath.dirname(book))
            self.sheets, self.epoch = self._workbook(book, rels)
        except (zipfile.BadZipFile, KeyError, expat.ExpatError) as exc:
            raise BadWorkbook(str(exc)) from exc
        self._strings_path = self._target(rels, "/sharedStrings", required=False)
        self._styles_path = self._target(rels, "/styles", required=False)
        self._strings: list[str] | None = None
        self._date_styles: tuple[frozenset[int], frozenset[int]] | None = None

    def close(self) -> None:
        self._zip.close()

    # ------------------------------------------------------------ package parts

    def _read(self, path: str) -> bytes:
        """A whole part (not a sheet, which is streamed); a part that would unpack to more than PART_MAX is refused."""
        if self._zip.getinfo(path).file_size > PART_MAX:
            raise BadWorkbook(f"{path} is larger than {PART_MAX} bytes")
        return self._zip.read(path)

    def _relations(self, path: str, base: str) -> dict[str, tuple[str, str]]:
        rels: dict[str, tuple[str, str]] = {}

        def start(name: str, attrs: dict[str, str]) -> None:
            if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
                target = attrs["Target"]
                full = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
                rels[attrs["Id"]] = (attrs["Type"], full)

        _parser(start).Parse(self._read(path), True)
        return rels

    @staticmethod
    def _target(rels: dict[str, tuple[str, str]], kind: str, *, required: bool = True) -> str:
        for rel_type, target in rels.values():
            if rel_type.endswith(kind):
                return target
        if required:
            raise KeyError(kind)
        return ""

    def _workbook(self, path: str, rels: dict[str, tuple[str, str]]) -> tuple[list[Sheet], object]:
        sheets: list[Sheet] = []
        epoch = [CALENDAR_WINDOWS_1900]

        def start(name: str, attrs: dict[str, str]) -> None:
            tag = _local(name)
            if tag == "sheet":
                rel = attrs.get(f"{REL_NS} id") or attrs.get("http://purl.oclc.org/ooxml/officeDocument/relationships id")
                if rel in rels and rels[rel][0].endswith("/worksheet"):
                    sheets.append(Sheet(attrs.get("name", ""), rels[rel][1]))
            elif tag == "workbookPr" and attrs.get("date1904", "").lower() in ("1", "true"):
                epoch[0] = CALENDAR_MAC_1904

        _parser(start).Parse(self._read(path), True)
        return sheets, epoch[0]

    def strings(self) -> list[str]:
        if self._strings is None:
            self._strings = _shared_strings(self._read(self._strings_path)) if self._strings_path else []
        return self._strings

    def date_styles(self) -> tuple[frozenset[int], frozenset[int]]:
        """Indexes of the cell styles that show dates, and of those that show durations."""
        if self._date_styles is None:
            if self._styles_path:
                sheet = Stylesheet.from_tree(fromstring(self._read(self._styles_path)))
                self._date_styles = (frozenset(sheet.date_formats), frozenset(sheet.timedelta_formats))
            else:
                self._date_styles = (frozenset(), frozenset())
        return self._date_styles

    def stored_rows(self, sheet: Sheet) -> int:
        """The last row of the sheet's stored <dimension>, 0 when the writer left it out (for progress only)."""
        with self._zip.open(sheet.path) as fh:
            head = fh.read(4096).decode("utf-8", "replace")
        m = _DIMENSION.search(head)
        return int(m.group(1)) if m else 0

    def merged_ranges(self, sheet: Sheet) -> list[tuple[int, int, int, int]]:
        """The sheet's merged cells as (first column, first row, last column, last row). They are stored after the
        rows, so the sheet XML is scanned for them once before its rows are read."""
        refs: set[bytes] = set()
        tail = b""
        try:
            with self._zip.open(sheet.path) as fh:
                while chunk := fh.read(CHUNK):
                    text = tail + chunk
                    refs.update(_MERGE.findall(text))
                    tail = text[-200:]
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise BadWorkbook(f"{sheet.title}: {exc}") from exc
        return sorted(range_boundaries(ref.decode()) for ref in refs)

    # ------------------------------------------------------------ rows

    def rows(self, sheet: Sheet) -> Iterator[Row]:
        """(row number, values by column from A) for every row the sheet stores; rows it leaves out are blank."""
        try:
            reader = _RowReader(self.strings(), *self.date_styles(), self.epoch)
            with self._zip.open(sheet.path) as fh:
                while chunk := fh.read(CHUNK):
                    reader.feed(chunk)
                    yield from reader.take()
            reader.feed(b"", final=True)
            yield from reader.take()
        except (zipfile.BadZipFile, KeyError, EOFError, zlib.error, expat.ExpatError, ValueError, IndexError,
                TypeError) as exc:
            raise BadWorkbook(f"{sheet.title}: {exc}") from exc


def _shared_strings(data: bytes) -> list[str]:
    strings: list[str] = []
    parts: list[str] = []
    depth = {"t": 0, "rPh": 0}

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag in depth:
            depth[tag] += 1
        elif tag == "si":
            parts.clear()

    def end(name: str) -> None:
        tag = _local(name)
        if tag in depth:
            depth[tag] -= 1
        elif tag == "si":
            strings.append("".join(parts).replace("x005F_", ""))

    def text(data: str) -> None:
        if depth["t"] and not depth["rPh"]:
            parts.append(data)

    _parser(start, end, text).Parse(data, True)
    return strings


class _RowReader:
    """Turns sheet XML into rows of values as it is fed."""

    def __init__(self, strings: list[str], dates: frozenset[int], durations: frozenset[int], epoch: object):
        self.strings, self.dates, self.durations, self.epoch = strings, dates, durations, epoch
        self.done: list[Row] = []
        self.values: list[object] = []
        self.row = 0
        self.col = 0
        self.kind = "n"
        self.style = 0
        self.text: list[str] = []
        self.collect = False
        self.phonetic = 0
        self.columns: dict[str, int] = {}
        self.parser = _parser(self._start, self._end, self._text)

    def feed(self, data: bytes, final: bool = False) -> None:
        self.parser.Parse(data, final)

    def take(self) -> list[Row]:
        done, self.done = self.done, []
        return done

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = name[name.rfind(" ") + 1:]
        if tag == "c":
            ref = attrs.get("r")
            self.col = self._column(ref) if ref else self.col + 1
            self.kind = attrs.get("t", "n")
            self.style = int(attrs.get("s", 0))
            self.text = []
        elif tag == "v" or (tag == "t" and not self.phonetic):
            self.collect = True
        elif tag == "row":
            r = attrs.get("r")
            self.row = int(r) if r else self.row + 1
            self.values = []
            self.col = 0
        elif tag == "rPh":
            self.phonetic += 1

    def _end(self, name: str) -> None:
        tag = name[name.rfind(" ") + 1:]
        if tag == "c":
            value = self._value()
            if value is not None:
                missing = self.col - len(self.values)
                if missing > 1:
                    self.values.extend([None] * (missing - 1))
                if missing > 0:
                    self.values.append(value)
                else:
                    self.values[self.col - 1] = value
        elif tag == "v" or tag == "t":
            self.collect = False
        elif tag == "row":
            self.done.append((self.row, self.values))
        elif tag == "rPh":
            self.phonetic -= 1

    def _text(self, data: str) -> None:
        if self.collect:
            self.text.append(data)

    def _column(self, ref: str) -> int:
        letters = ref.rstrip("0123456789")
        col = self.columns.get(letters)
        if col is None:
            col = self.columns[letters] = column_index_from_string(letters)
        return col

    def _value(self) -> object:
        raw = "".join(self.text)
        kind = self.kind
        if kind == "inlineStr":
            return raw if self.text else None
        if not raw:
            return None
        if kind == "s":
            return self.strings[int(raw)]
        if kind == "n":
            number = float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
            if self.style in self.dates:
                try:
                    return from_excel(number, self.epoch, timedelta=self.style in self.durations)
                except (OverflowError, ValueError):  # not a date after all: the number itself tells more
                    return number
            return number
        if kind == "b":
            return bool(int(raw))
        if kind == "d":
            return from_ISO8601(raw)
        return raw  # "str" (a formula's text) and "e" (an error such as #N/A)

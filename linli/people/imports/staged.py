"""The validated rows of a job, kept between validation and commit: JSON lines, compressed, sealed.

Layout of the (unsealed) blob: one JSON header line ``{"rows": n, "errors": e}`` (valid rows written, rows
rejected by validation), then the zlib-compressed rows, one JSON array per line in ``StagedRow`` order.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import NamedTuple


class StagedRow(NamedTuple):
    row: int
    estate_id: int
    building: str
    entrance: str
    dwelling: str
    name: str
    sex: str
    birth_date: str | None  # ISO date
    id_number: str
    id_hash: str
    phone: str  # "" when the sheet gives none (an existing phone is then kept)
    phone_hash: str
    ethnicity: str
    notes: str
    relation: str
    tags: list[list[int | None]]  # [tag id, grade]
    since: str | None


class StagedWriter:
    def __init__(self) -> None:
        self._z = zlib.compressobj(1)
        self._parts: list[bytes] = []
        self.count = 0

    def add(self, row: StagedRow) -> None:
        self._parts.append(self._z.compress(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"))
        self.count += 1

    def blob(self, errors: int) -> bytes:
        head = json.dumps({"rows": self.count, "errors": errors}).encode() + b"\n"
        return head + b"".join(self._parts) + self._z.flush()


def read_header(blob: bytes) -> dict[str, int]:
    return json.loads(blob[: blob.index(b"\n")])


def _lines(body: memoryview) -> Iterator[bytes]:
    z = zlib.decompressobj()
    tail = b""
    step = 1 << 20
    for start in range(0, len(body), step):
        lines = (tail + z.decompress(body[start:start + step])).split(b"\n")
        tail = lines.pop()
        yield from lines
    yield from (line for line in (tail + z.flush()).split(b"\n") if line)


def read_rows(blob: bytes, skip: int = 0) -> Iterator[StagedRow]:
    """The staged rows in order, decompressed as they are read; the first ``skip`` rows are passed over."""
    body = memoryview(blob)[blob.index(b"\n") + 1:]
    for index, line in enumerate(_lines(body)):
        if index >= skip:
            yield StagedRow(*json.loads(line))

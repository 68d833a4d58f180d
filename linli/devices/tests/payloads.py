"""Builders for test payloads: fixture files, a tiny valid JPEG, multipart bodies as devices send them."""

from __future__ import annotations

import struct
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _segment(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def tiny_jpeg(comment: bytes = b"") -> bytes:
    """A valid 8x8 grey baseline JPEG (djpeg decodes it) of about 170 bytes; the comment makes pictures differ.

    One quantisation table of ones, DC and AC Huffman tables with the single code '0' (DC difference 0, end of
    block), and one block of scan data: bits 00 padded with ones.
    """
    table = bytes([1] + [0] * 15) + b"\x00"
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + (_segment(0xFE, comment) if comment else b"")
        + _segment(0xDB, b"\x00" + b"\x01" * 64)
        + _segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
        + _segment(0xC4, b"\x00" + table)
        + _segment(0xC4, b"\x10" + table)
        + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f\xff\xd9"
    )


def form_part(name: str, content_type: str, data: bytes, filename: str = "") -> tuple[str, str, bytes, str]:
    return name, content_type, data, filename


def multipart(parts: list[tuple[str, str, bytes, str]], boundary: str = "MIME_boundary") -> tuple[bytes, str]:
    """(body, content type) laid out the way Hikvision firmware does: Content-Length on every part."""
    body = b""
    for name, content_type, data, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += (
            (
                f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(data)}\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def dahua_part(data: bytes, content_type: str = "text/plain", boundary: str = "myboundary") -> bytes:
    """One part of the attach stream with an exact Content-Length."""
    head = f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
    return head + data + b"\r\n"

"""Checking and cleaning uploaded photos: the type by its magic bytes, the size, a full decode by Pillow (with its
decompression-bomb limit), then a fresh JPEG without any EXIF (no GPS position, no camera serial), turned upright
as the EXIF orientation said, at most 2048 px, and a 320 px thumbnail. Nothing of the upload is stored as is."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from linli.core.errors import FieldError

MAX_SIDE = 2048
THUMB_SIDE = 320
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 85
MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"WEBP", 8, "WEBP"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
)


@dataclass(frozen=True)
class CleanPhoto:
    image: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str


def sniff(head: bytes) -> str | None:
    """The image format the first bytes announce (JPEG, PNG, WEBP, GIF), or None."""
    for magic, offset, fmt in MAGIC:
        if head[offset:offset + len(magic)] == magic and (fmt != "WEBP" or head[:4] == b"RIFF"):
            return fmt
    return None


def _error(field: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(field, code, zh, en)


def check_and_clean(data: bytes, field: str = "photos") -> CleanPhoto | FieldError:
    """A cleaned photo, or the FieldError saying why the upload is refused."""
    limit = settings.LINLI_TICKET_PHOTO_MAX_BYTES
    if len(data) > limit:
        return _error(field, "too_big", f"照片不能超过{limit // (1024 * 1024)}MB",
                      f"a photo may be at most {limit // (1024 * 1024)} MB")
    if not data:
        return _error(field, "empty", "照片文件为空", "the photo file is empty")
    fmt = sniff(data[:16])
    if fmt is None:
        return _error(field, "not_an_image", "文件不是JPEG、PNG、WEBP或GIF图片", "the file is not a JPEG, PNG, WEBP or GIF image")
    try:
        return _clean(data, fmt)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        return _error(field, "undecodable", "图片已损坏或过大，无法解析", "the image is damaged or too large to decode")


def _clean(data: bytes, fmt: str) -> CleanPhoto:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise ValueError("too many pixels")
            probe.verify()
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            img.seek(0)
            img.load()
            upright = ImageOps.exif_transpose(img)
            rgb = _rgb(upright)
    rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    image = _jpeg(rgb)
    thumb = rgb.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    return CleanPhoto(image=image, thumbnail=_jpeg(thumb), width=rgb.width, height=rgb.height,
                      sha256=hashlib.sha256(image).hexdigest())


def _rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        return background
    # A new image holds only pixels: no EXIF, no ICC profile, no comments from the upload.
    clean = Image.new("RGB", img.size)
    clean.paste(img.convert("RGB"))
    return clean


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()

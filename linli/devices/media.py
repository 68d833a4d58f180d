"""Pictures that come with device events: the original and a JPEG thumbnail go to the storage backend
(``default_storage``: files under MEDIA_ROOT embedded, object storage in production); the event keeps references.

File names derive from the device and the event's idempotency key, so a resent event finds its pictures already
stored instead of writing them again. A picture the decoder cannot read is kept as received and noted
(``error: invalid_image``), never fatal to the event.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from .adapters import Media

THUMB_SIZE = 320
MAX_PIXELS = 50_000_000  # a 8K picture is 33 million pixels; beyond this a "picture" is a decompression bomb
INVALID_IMAGE = "invalid_image"


def store_media(device_id: int, external_id: str, occurred_at: datetime, media: Sequence[Media]) -> list[dict[str, Any]]:
    """Store each picture and its thumbnail (unless stored before); the references the event keeps."""
    key = hashlib.sha256(f"{device_id}:{external_id}".encode("utf-8", "surrogatepass")).hexdigest()[:24]
    folder = f"devices/{device_id}/{occurred_at:%Y/%m/%d}"
    refs = []
    for index, picture in enumerate(media):
        extension = "png" if picture.content_type == "image/png" else "jpg"
        original = _save_once(f"{folder}/{key}-{index}.{extension}", picture.data)
        thumb_name = f"{folder}/{key}-{index}.thumb.jpg"
        thumb = thumb_name if default_storage.exists(thumb_name) else None
        if thumb is None:
            data = thumbnail(picture.data)
            thumb = _save_once(thumb_name, data) if data is not None else None
        refs.append({
            "name": picture.name[:128],
            "type": picture.content_type,
            "size": len(picture.data),
            "file": original,
            "thumb": thumb or "",
            "error": "" if thumb else INVALID_IMAGE,
        })
    return refs


def _save_once(name: str, data: bytes) -> str:
    if default_storage.exists(name):
        return name
    return default_storage.save(name, ContentFile(data))


def thumbnail(data: bytes) -> bytes | None:
    """A JPEG of at most THUMB_SIZE pixels a side, or None when the bytes are not a picture Pillow can decode."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.draft("RGB", (THUMB_SIZE, THUMB_SIZE))  # JPEG: decode at 1/2..1/8 scale, much faster
            image.thumbnail((THUMB_SIZE, THUMB_SIZE))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except Exception:  # noqa: BLE001 - untrusted bytes: any decoder failure means "not a usable picture"
        return None


def media_links(event: Any) -> list[dict[str, Any]]:
    """An event's pictures as the console and the API show them: served by the event's media view, which checks
    that the reader may see the event (the storage backend's own URLs are never handed out)."""
    out = []
    for index, ref in enumerate(event.media or []):
        url = reverse("devices:event_media", args=[event.pk, index])
        out.append({"name": ref.get("name", ""), "type": ref.get("type", ""), "size": ref.get("size", 0),
                    "error": ref.get("error", ""), "url": url,
                    "thumb_url": f"{url}?thumb=1" if ref.get("thumb") else None})
    return out

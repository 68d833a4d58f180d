"""JPEG and PNG bytes made with Pillow for the photo tests, with EXIF (a GPS position, a camera) when asked."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
MAKE = 0x010F


def jpeg(width: int = 64, height: int = 48, *, gps: bool = False, color=(200, 30, 30)) -> bytes:
    img = Image.new("RGB", (width, height), color)
    exif = Image.Exif()
    if gps:
        exif[MAKE] = "PhoneCam"
        exif[GPS_IFD] = {1: "N", 2: (29.0, 50.0, 0.0), 3: "E", 4: (114.0, 17.0, 0.0)}
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif.tobytes() if gps else b"")
    return out.getvalue()


def png_with_alpha(width: int = 40, height: int = 40) -> bytes:
    img = Image.new("RGBA", (width, height), (0, 128, 0, 100))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()

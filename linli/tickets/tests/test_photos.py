"""Photos: the type checked by magic bytes and a full decode, the size limited, re-encoded as JPEG without any
EXIF (GPS included), a thumbnail kept; at most nine per stage; a refused upload writes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from linli.core.errors import ValidationFailed
from linli.tickets import actions
from linli.tickets.photos import sniff

from .conftest import counts
from .images import GPS_IFD, jpeg, png_with_alpha


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.LINLI_TICKET_PHOTO_MAX_BYTES = 200_000


def test_given_a_phone_photo_with_gps_when_uploaded_then_the_stored_jpeg_and_thumbnail_carry_no_exif(desk):
    original = jpeg(800, 600, gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the upload does carry a position
    ticket = desk.submit(photos=[actions.Upload("IMG_0001.jpg", original)])
    [photo] = ticket.photos.all()
    assert (photo.stage, photo.width, photo.height) == ("report", 800, 600)
    for name in (photo.file, photo.thumbnail):
        with default_storage.open(name) as fh:
            data = fh.read()
        img = Image.open(io.BytesIO(data))
        assert img.format == "JPEG"
        assert dict(img.getexif()) == {} and b"Exif" not in data[:200] and "exif" not in img.info
    assert Image.open(default_storage.open(photo.thumbnail)).size == (320, 240)


def test_given_a_png_with_transparency_when_uploaded_then_it_becomes_a_jpeg(desk):
    ticket = desk.submit()
    [photo] = actions.add_photos(actor=desk.actor("resident_a"), ticket=ticket, stage="report",
                                 photos=[actions.Upload("shot.png", png_with_alpha())])
    assert Image.open(default_storage.open(photo.file)).mode == "RGB"


def test_given_a_file_that_is_not_an_image_when_uploaded_then_the_field_is_named_and_nothing_is_written(desk):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        desk.submit(photos=[actions.Upload("virus.jpg", b"MZ\x90\x00 not a picture at all")])
    assert [(e.field, e.code) for e in exc.value.errors] == [("photos[0]", "not_an_image")]
    assert "virus.jpg" in exc.value.errors[0].message_zh
    assert counts() == before


def test_given_a_jpeg_header_on_garbage_when_uploaded_then_the_decode_refuses_it(desk):
    ticket = desk.submit()
    with pytest.raises(ValidationFailed) as exc:
        actions.add_photos(actor=desk.actor("resident_a"), ticket=ticket, stage="report",
                           photos=[actions.Upload("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 500)])
    assert exc.value.errors[0].code == "undecodable"


def test_given_a_photo_over_the_limit_when_uploaded_then_it_is_refused_as_too_big(desk):
    big = b"\xff\xd8\xff" + b"\x00" * 200_001
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        desk.submit(photos=[actions.Upload("huge.jpg", big)])
    assert exc.value.errors[0].code == "too_big"
    assert counts() == before


def test_given_nine_photos_when_a_tenth_is_added_then_it_is_refused(desk):
    ticket = desk.submit(photos=[actions.Upload(f"{i}.jpg", jpeg(color=(i, i, i))) for i in range(9)])
    assert ticket.photos.count() == 9
    with pytest.raises(ValidationFailed) as exc:
        actions.add_photos(actor=desk.actor("resident_a"), ticket=ticket, stage="report",
                           photos=[actions.Upload("10.jpg", jpeg())])
    assert exc.value.errors[0].code == "too_many"


def test_given_magic_bytes_when_sniffed_then_the_format_is_named():
    assert [sniff(jpeg()[:16]), sniff(png_with_alpha()[:16]), sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 "), sniff(b"%PDF-1.7")] == [
        "JPEG", "PNG", "WEBP", None]


def test_given_a_tiny_file_that_decodes_to_a_huge_image_when_uploaded_then_it_is_refused_before_decoding(desk):
    bomb = io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, format="PNG")  # 48 megapixels in a few kilobytes
    assert len(bomb.getvalue()) < 200_000
    with pytest.raises(ValidationFailed) as exc:
        desk.submit(photos=[actions.Upload("bomb.png", bomb.getvalue())])
    assert exc.value.errors[0].code == "undecodable"


def test_given_a_photo_taken_sideways_when_cleaned_then_it_is_stored_upright(desk):
    img = Image.new("RGB", (60, 40), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif.tobytes())
    ticket = desk.submit(photos=[actions.Upload("side.jpg", out.getvalue())])
    assert (ticket.photos.get().width, ticket.photos.get().height) == (40, 60)

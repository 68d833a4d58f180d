"""Uploaded sheets and staged rows hold ID numbers and phones in clear, so they are sealed (AES-GCM under the
field keys, linli.core.crypto) before they reach the storage backend, and deleted once the job is finished."""

from __future__ import annotations

import base64
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from linli.core import crypto

FOLDER = "imports"


def seal(data: bytes) -> bytes:
    return (crypto.encrypt(base64.b64encode(data).decode("ascii")) or "").encode("ascii")


def unseal(blob: bytes) -> bytes:
    return base64.b64decode(crypto.decrypt(blob.decode("ascii")) or "")


def save_sealed(data: bytes, kind: str) -> str:
    """Store ``data`` sealed under a fresh name; returns the storage name."""
    return default_storage.save(f"{FOLDER}/{uuid.uuid4().hex}.{kind}.sealed", ContentFile(seal(data)))


def load_sealed(name: str) -> bytes:
    with default_storage.open(name, "rb") as fh:
        return unseal(fh.read())


def delete(*names: str) -> None:
    for name in names:
        if name:
            default_storage.delete(name)

"""Encryption at rest for personal data, and keyed hashes for finding it again.

Ciphertext format: ``v1:<key id>:<base64url(nonce || AES-256-GCM ciphertext)>``. LINLI_FIELD_KEYS holds
``id:base64key`` entries separated by commas; the first one encrypts, every one decrypts, so keys rotate by
putting a new key first and re-encrypting at leisure (``linli rotate_keys``). Look-up hashes are
HMAC-SHA256 under LINLI_LOOKUP_KEY, which must never change once data exists.

An embedded install with no keys configured gets keys generated once into ``var/keys.json``; a production
install sets them in the environment (system check linli.W002 says so).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "v1"
_lock = threading.Lock()


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]
    primary: str
    lookup_key: bytes
    generated: bool


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parse_field_keys(raw: str) -> tuple[dict[str, bytes], str]:
    keys: dict[str, bytes] = {}
    primary = ""
    for entry in raw.split(","):
        entry = entry.strip()
        if not entry:
            continue
        key_id, _, value = entry.partition(":")
        key = _unb64(value.strip())
        if len(key) != 32:
            raise ValueError(f"LINLI_FIELD_KEYS entry {key_id!r} must be 32 bytes of base64")
        keys[key_id.strip()] = key
        primary = primary or key_id.strip()
    return keys, primary


def _generated_keys() -> tuple[str, str]:
    path = settings.VAR_DIR / "keys.json"
    with _lock:
        if not path.exists():
            data = {"field_keys": f"k1:{_b64(os.urandom(32))}", "lookup_key": _b64(os.urandom(32))}
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # atomic: a concurrent process that lost the race reads the winner's keys
            except FileExistsError:
                pass
            tmp.unlink(missing_ok=True)
        data = json.loads(path.read_text())
    return data["field_keys"], data["lookup_key"]


@lru_cache(maxsize=1)
def keyring() -> KeyRing:
    raw_keys = settings.LINLI_FIELD_KEYS
    raw_lookup = settings.LINLI_LOOKUP_KEY
    generated = False
    if not raw_keys or not raw_lookup:
        gen_keys, gen_lookup = _generated_keys()
        raw_keys = raw_keys or gen_keys
        raw_lookup = raw_lookup or gen_lookup
        generated = True
    keys, primary = _parse_field_keys(raw_keys)
    return KeyRing(keys=keys, primary=primary, lookup_key=_unb64(raw_lookup), generated=generated)


@lru_cache(maxsize=8)
def _aead(key_id: str) -> AESGCM:
    return AESGCM(keyring().keys[key_id])


def encrypt(plaintext: str | None) -> str | None:
    if plaintext is None or plaintext == "":
        return plaintext
    ring = keyring()
    nonce = os.urandom(12)
    ct = _aead(ring.primary).encrypt(nonce, plaintext.encode(), ring.primary.encode())
    return f"{PREFIX}:{ring.primary}:{_b64(nonce + ct)}"


def decrypt(token: str | None) -> str | None:
    if token is None or token == "":
        return token
    prefix, key_id, body = token.split(":", 2)
    if prefix != PREFIX:
        raise ValueError("unknown ciphertext format")
    raw = _unb64(body)
    return _aead(key_id).decrypt(raw[:12], raw[12:], key_id.encode()).decode()


def needs_rotation(token: str | None) -> bool:
    return bool(token) and token.split(":", 2)[1] != keyring().primary  # type: ignore[union-attr]


def lookup_hash(kind: str, value: str | None) -> str | None:
    """Keyed hash for exact look-up and de-duplication; ``kind`` separates ID numbers from phones."""
    if not value:
        return None
    return hmac.new(keyring().lookup_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

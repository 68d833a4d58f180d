"""Device secrets: random, shown once, stored as a SHA-256 digest.

A device sends its secret with every request, thousands of times a second across a community, so the check must
be cheap: a slow password hash (PBKDF2) would cost more than the event itself. The secret is 24 random letters and
digits (about 143 bits), so a fast digest is safe against guessing; the digest is compared in constant time.
Letters and digits only, because vendor web pages limit what a password field accepts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

ALPHABET = string.ascii_letters + string.digits
LENGTH = 24


def new_secret() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def secret_matches(secret: str, digest: str) -> bool:
    return bool(digest) and hmac.compare_digest(secret_digest(secret), digest)

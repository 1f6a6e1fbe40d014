"""Secrets and their stored forms: API keys (random, HMAC-SHA256 with a salt) and passwords (scrypt).

An API key's secret carries 192 random bits, so a fast keyed hash is enough to store it: nobody can search
that space, and checking a key costs about a microsecond. Passwords are chosen by people, so they get a slow
KDF (scrypt); the authenticators cache successful checks so a request does not pay for it each time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

KEY_ID_BYTES = 15
"""20 URL-safe characters, the length of Elasticsearch's API key ids."""
KEY_SECRET_BYTES = 24
"""192 random bits (Elasticsearch: 128)."""
SALT_BYTES = 16

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LENGTH = 2**14, 8, 1, 32
"""About 50 ms and 16 MiB per check on a laptop core: slow for guessing, fine once per cache period."""


def new_key_id() -> str:
    return secrets.token_urlsafe(KEY_ID_BYTES)


def new_key_secret() -> str:
    return secrets.token_urlsafe(KEY_SECRET_BYTES)


def encode_api_key(key_id: str, secret: str) -> str:
    """What clients send after `ApiKey `: base64 of `id:secret`, as Elasticsearch's `encoded`."""
    return base64.b64encode(f"{key_id}:{secret}".encode()).decode()


def decode_api_key(encoded: str) -> tuple[str, str]:
    """(id, secret) of an encoded key; ValueError when it is not base64 of `id:secret` with both parts."""
    try:
        key_id, colon, secret = base64.b64decode(encoded.strip().encode("ascii"), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeError) as error:
        raise ValueError("not base64") from error
    if not colon or not key_id or not secret:
        raise ValueError("not base64 of id:secret")
    return key_id, secret


def hash_key_secret(secret: str, salt: bytes | None = None) -> tuple[str, str]:
    """(salt, digest) in hex: HMAC-SHA256 keyed by a per-key random salt."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    return salt.hex(), hmac.new(salt, secret.encode(), hashlib.sha256).hexdigest()


def key_secret_matches(secret: str, salt_hex: str, digest_hex: str) -> bool:
    _, candidate = hash_key_secret(secret, bytes.fromhex(salt_hex))
    return hmac.compare_digest(candidate, digest_hex)


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LENGTH)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p),
                            dklen=len(digest_hex) // 2)
    return hmac.compare_digest(digest.hex(), digest_hex)


class CheckedSecrets:
    """Remembers passwords already checked against the slow KDF, as keyed digests (never the password):
    a repeat is verified with one HMAC and a constant-time comparison."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def digest(self, secret: str) -> bytes:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).digest()

    def same(self, secret: str, digest: bytes) -> bool:
        return hmac.compare_digest(self.digest(secret), digest)

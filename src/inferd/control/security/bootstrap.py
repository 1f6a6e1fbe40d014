"""Secure by default: the first start makes an admin API key and leaves it where only its owner can read it.

An operator may provide that key instead (`INFERD_BOOTSTRAP_API_KEY_FILE`, in the spirit of Elasticsearch's
`ELASTIC_PASSWORD`), so a container's orchestrator knows it without reading logs or the data volume.

A lost or leaked admin key is replaced with `reset_admin_key`, which needs only the store, so whoever can write the
data dir (the trust boundary: it holds the store) can run it, with the server stopped or running.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from inferd.control.security.api_keys import ApiKeys, CreatedKey
from inferd.control.security.hashing import decode_api_key, encode_api_key, new_key_id, new_key_secret
from inferd.control.security.principal import RESERVED_REALM, RESERVED_USERNAME, Principal
from inferd.control.security.privileges import privileges_of_roles
from inferd.control.security.users import Users

logger = logging.getLogger(__name__)

ADMIN_KEY_FILE = "admin-api-key"
ADMIN_KEY_NAME = "inferd-admin"
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MIN_SECRET_CHARS = 32
"""A provided secret is at least as long as the ones inferd makes (192 random bits, URL-safe base64)."""


class InvalidBootstrapKey(ValueError):
    """The provided admin key file is unreadable or does not hold an encoded API key."""


def read_bootstrap_key(path: Path) -> tuple[str, str]:
    """The (id, secret) of the encoded API key in `path`, as `inferd keys generate` prints one."""
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeError) as error:
        raise InvalidBootstrapKey(f"the bootstrap API key file [{path}] cannot be read: {error}") from None
    try:
        key_id, secret = decode_api_key(text)
    except ValueError:
        raise InvalidBootstrapKey(
            f"the bootstrap API key file [{path}] must hold one encoded API key (base64 of id:secret, as `inferd keys "
            "generate` prints)") from None
    if not KEY_ID.fullmatch(key_id) or len(secret) < MIN_SECRET_CHARS:
        raise InvalidBootstrapKey(
            f"the bootstrap API key in [{path}] needs an id of 1-64 letters, digits, '-' or '_' and a secret of at "
            f"least {MIN_SECRET_CHARS} characters (`inferd keys generate` makes one)")
    return key_id, secret


def generate_encoded_key() -> str:
    """A fresh encoded key for `INFERD_BOOTSTRAP_API_KEY_FILE`, made offline."""
    return encode_api_key(new_key_id(), new_key_secret())

BOOTSTRAP_PRINCIPAL = Principal(
    username=RESERVED_USERNAME, privileges=privileges_of_roles(["superuser"]), roles=("superuser",),
    realm_name=RESERVED_REALM[0], realm_type=RESERVED_REALM[1],
)
"""Elasticsearch's reserved superuser `elastic`, in whose name the first key is made."""


def write_private_file(path: Path, text: str) -> None:
    """Write atomically, readable and writable by the owner only (0600) from the first byte."""
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.unlink(missing_ok=True)
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(scratch, path)


def ensure_admin_key(keys: ApiKeys, users: Users, data_dir: Path, provided: Path | None = None) -> str | None:
    """On an empty store, create a superuser key (the one in the file `provided`, else a random one), write it to
    `data_dir/admin-api-key` and return it. On a later start the provided file is not read: change keys with the
    API or `inferd keys reset-admin`."""
    if keys.count() or users.count():
        if provided is not None:
            logger.info("the store already has credentials: the bootstrap API key file [%s] is not used", provided)
        return None
    if provided is not None:
        created = _issue_admin_key(keys, data_dir, "provided at first start", read_bootstrap_key(provided))
        logger.warning("first start: stored the admin API key [%s] (id %s, superuser) from %s, and kept it in %s "
                       "(mode 0600)", ADMIN_KEY_NAME, created.record.key_id, provided, data_dir / ADMIN_KEY_FILE)
        return created.encoded
    created = _issue_admin_key(keys, data_dir, "created at first start")
    logger.warning(
        "first start: created the admin API key [%s] (id %s, superuser). It is shown once here and kept in %s "
        "(mode 0600). Send it as 'Authorization: ApiKey %s'",
        ADMIN_KEY_NAME, created.record.key_id, data_dir / ADMIN_KEY_FILE, created.encoded,
    )
    return created.encoded


def reset_admin_key(keys: ApiKeys, data_dir: Path) -> tuple[CreatedKey, list[str]]:
    """Invalidate every admin key (the reserved user's keys of that name) and write a new one to the key file.

    Returns the new key and the ids invalidated. The new key is stored and written before the old ones are
    invalidated, so an interruption never leaves the data dir without a working admin key.
    """
    old = keys.find(name=ADMIN_KEY_NAME, username=BOOTSTRAP_PRINCIPAL.username, realm=BOOTSTRAP_PRINCIPAL.realm_name,
                    active_only=True)
    created = _issue_admin_key(keys, data_dir, "created by inferd keys reset-admin")
    invalidated, _ = keys.invalidate(old)
    return created, invalidated


def _issue_admin_key(keys: ApiKeys, data_dir: Path, why: str, given: tuple[str, str] | None = None) -> CreatedKey:
    created = keys.create(BOOTSTRAP_PRINCIPAL, ADMIN_KEY_NAME, None, None, {"inferd": why}, given)
    write_private_file(data_dir / ADMIN_KEY_FILE, created.encoded + "\n")
    return created

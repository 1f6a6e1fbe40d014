"""Secure by default: the first start makes an admin API key and leaves it where only its owner can read it.

A lost or leaked admin key is replaced with `reset_admin_key`, which needs only the store, so whoever can write the
data dir (the trust boundary: it holds the store) can run it, with the server stopped or running.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from inferd.control.security.api_keys import ApiKeys, CreatedKey
from inferd.control.security.principal import RESERVED_REALM, RESERVED_USERNAME, Principal
from inferd.control.security.privileges import privileges_of_roles
from inferd.control.security.users import Users

logger = logging.getLogger(__name__)

ADMIN_KEY_FILE = "admin-api-key"
ADMIN_KEY_NAME = "inferd-admin"

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


def ensure_admin_key(keys: ApiKeys, users: Users, data_dir: Path) -> str | None:
    """On an empty store, create a superuser key, write it to `data_dir/admin-api-key` and return it."""
    if keys.count() or users.count():
        return None
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


def _issue_admin_key(keys: ApiKeys, data_dir: Path, why: str) -> CreatedKey:
    created = keys.create(BOOTSTRAP_PRINCIPAL, ADMIN_KEY_NAME, None, None, {"inferd": why})
    write_private_file(data_dir / ADMIN_KEY_FILE, created.encoded + "\n")
    return created

"""Authentication and privileges: API keys, users, built-in roles; pure rules beside their stored state."""

from inferd.control.security.api_keys import ApiKeys, CreatedKey, owns
from inferd.control.security.bootstrap import (
    ADMIN_KEY_FILE,
    BOOTSTRAP_PRINCIPAL,
    InvalidBootstrapKey,
    ensure_admin_key,
    generate_encoded_key,
    reset_admin_key,
)
from inferd.control.security.changes import ChangeWatcher
from inferd.control.security.principal import API_KEY_REALM, CredentialsRefused, Principal
from inferd.control.security.privileges import (
    BUILTIN_ROLES,
    UnknownPrivilege,
    allows,
    effective_roles,
    granting,
    privileges_of_roles,
)
from inferd.control.security.sessions import ConsoleSession, ConsoleSessions, SessionRefused
from inferd.control.security.users import Users
from inferd.control.security.verified import VerifiedCredentials

__all__ = [
    "ADMIN_KEY_FILE",
    "API_KEY_REALM",
    "BOOTSTRAP_PRINCIPAL",
    "BUILTIN_ROLES",
    "ApiKeys",
    "ChangeWatcher",
    "ConsoleSession",
    "ConsoleSessions",
    "CreatedKey",
    "CredentialsRefused",
    "InvalidBootstrapKey",
    "Principal",
    "SessionRefused",
    "UnknownPrivilege",
    "Users",
    "VerifiedCredentials",
    "allows",
    "effective_roles",
    "ensure_admin_key",
    "generate_encoded_key",
    "granting",
    "owns",
    "privileges_of_roles",
    "reset_admin_key",
]

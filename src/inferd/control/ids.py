"""Id rules for models and aliases, as Elasticsearch's MlStrings states them."""

from __future__ import annotations

import re

ID_MAX_LENGTH = 64
_VALID_ID = re.compile(r"[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?")
# Aliases may not end with a digit, so they never look like a versioned model id.
_VALID_ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9_\-.]*[a-z])?")


def id_problems(field: str, value: str) -> list[str]:
    """Every rule `value` breaks as the `field` (model_id, model_alias, ...); empty when it is valid."""
    problems = []
    if not _VALID_ID.fullmatch(value):
        problems.append(
            f"Invalid {field}; '{value}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or "
            "underscores; must start and end with alphanumeric"
        )
    if len(value) > ID_MAX_LENGTH:
        problems.append(f"Invalid {field}; '{value}' cannot contain more than {ID_MAX_LENGTH} characters.")
    return problems


def alias_problems(model_id: str, alias: str) -> list[str]:
    """PutTrainedModelAliasAction's checks, in its order."""
    problems = []
    if alias == model_id:
        problems.append(f"model_alias [{alias}] cannot equal model_id [{model_id}]")
    if not _VALID_ALIAS.fullmatch(alias):
        problems.append(
            f"Invalid model_alias; '{alias}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or "
            "underscores; must start with alphanumeric and cannot end with numbers"
        )
    if len(alias) > ID_MAX_LENGTH:
        problems.append(f"Invalid model_alias; '{alias}' cannot contain more than {ID_MAX_LENGTH} characters.")
    return problems

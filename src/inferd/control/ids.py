"""Id rules for models and aliases, as Elasticsearch's MlStrings states them."""

from __future__ import annotations

import re

ID_MAX_LENGTH = 64
ID_PATTERN = r"[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?"
_VALID_ID = re.compile(ID_PATTERN)
# Aliases may not end with a digit, so they never look like a versioned model id.
_VALID_ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9_\-.]*[a-z])?")


def id_problems(field: str, value: str) -> list[str]:
    """Every rule `value` breaks as the `field` (model_id, tag, ...); empty when it is valid."""
    return _name_problems(field, value, _VALID_ID, "must start and end with alphanumeric")


def alias_problems(model_id: str, alias: str) -> list[str]:
    """PutTrainedModelAliasAction's checks, in its order."""
    problems = []
    if alias == model_id:
        problems.append(f"model_alias [{alias}] cannot equal model_id [{model_id}]")
    rule = "must start with alphanumeric and cannot end with numbers"
    return problems + _name_problems("model_alias", alias, _VALID_ALIAS, rule)


def _name_problems(field: str, value: str, pattern: re.Pattern[str], ends: str) -> list[str]:
    problems = []
    if not pattern.fullmatch(value):
        problems.append(
            f"Invalid {field}; '{value}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; {ends}"
        )
    if len(value) > ID_MAX_LENGTH:
        problems.append(f"Invalid {field}; '{value}' cannot contain more than {ID_MAX_LENGTH} characters.")
    return problems

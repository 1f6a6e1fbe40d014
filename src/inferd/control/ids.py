"""Id rules for models and aliases, as Elasticsearch's MlStrings states them."""

from __future__ import annotations

import re

from inferd.errors import ValidationFailed

ID_MAX_LENGTH = 64
_VALID_ID = re.compile(r"^[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?$")


def id_problems(field: str, value: str) -> list[str]:
    """Every rule `value` breaks as the `field` (model_id, model_alias, ...); empty when it is valid."""
    problems = []
    if not _VALID_ID.match(value):
        problems.append(
            f"Invalid {field}; '{value}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or "
            "underscores; must start and end with alphanumeric"
        )
    if len(value) > ID_MAX_LENGTH:
        problems.append(f"Invalid {field}; '{value}' cannot contain more than {ID_MAX_LENGTH} characters.")
    return problems


def check_id(field: str, value: str) -> None:
    problems = id_problems(field, value)
    if problems:
        raise ValidationFailed(problems)

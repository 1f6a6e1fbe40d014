"""Expanding id expressions (`a,b`, `bert-*`, `_all`) against known ids, as Elasticsearch's ExpandedIdsMatcher does."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass


def split_expression(expression: str | None) -> list[str]:
    """`None`, empty, `_all` and `*` all mean everything."""
    tokens = [token.strip() for token in (expression or "").split(",") if token.strip()]
    if not tokens or tokens == ["_all"]:
        return ["*"]
    return tokens


def is_wildcard(token: str) -> bool:
    return "*" in token


@dataclass(frozen=True)
class Expansion:
    matched: list[str]
    """Matched ids, sorted, without duplicates."""
    unmatched: list[str]
    """Tokens that matched nothing and are required to match (explicit ids; wildcards too without allow_no_match)."""


def expand_ids(
    expression: str | None, ids: Iterable[str], aliases: dict[str, str], *, allow_no_match: bool
) -> Expansion:
    """Resolve each token to ids: exact ids, aliases (to their model) and `*` wildcards over ids."""
    known = sorted(set(ids))
    matched: set[str] = set()
    unmatched: list[str] = []
    for token in split_expression(expression):
        if is_wildcard(token):
            hits = fnmatch.filter(known, token)
            if not hits and not allow_no_match and token != "*":
                unmatched.append(token)
        else:
            target = token if token in known else aliases.get(token)
            hits = [target] if target in known else []
            if not hits:
                unmatched.append(token)
        matched.update(hits)
    if not allow_no_match and not matched and not unmatched:
        unmatched.append("*")
    return Expansion(sorted(matched), unmatched)

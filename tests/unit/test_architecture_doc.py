"""docs/architecture.md names only what exists: every module path and every class or function it quotes."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text()
SOURCE = "\n".join(path.read_text() for path in (ROOT / "src" / "inferd").rglob("*.py"))
PACKAGES = ("api", "control", "cluster", "store", "runtime", "nlp", "importer", "cli")


def test_every_module_the_page_names_exists() -> None:
    named = set(re.findall(r"`((?:%s)/[\w/]+\.py)`" % "|".join(PACKAGES), DOC))
    named |= {match for match in re.findall(r"\b([a-z_]+/[\w/]*\.py)\b", DOC) if match.split("/")[0] in PACKAGES}
    missing = sorted(path for path in named if not (ROOT / "src" / "inferd" / path).is_file())
    assert len(named) > 30 and missing == [], missing


def test_every_class_the_page_names_is_defined() -> None:
    names = set(re.findall(r"`([A-Z][A-Za-z]+)(?:\.[a-z_]+)?`", DOC)) - {"TorchScript", "Ray"}
    undefined = sorted(name for name in names if not re.search(rf"^\s*class {name}\b|^{name} = ", SOURCE, re.MULTILINE))
    assert len(names) > 15 and undefined == [], undefined

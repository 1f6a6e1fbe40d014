"""Every package inferd's code imports is declared in pyproject.toml, where the code that imports it needs it.

The server (everything but the importer and the commands built on it) may import only the base dependencies:
`pip install inferd` must be enough to serve. The importer may also use the `import` extra, the demo the `demo`
extra, the Ray backend (`cluster/ray_*.py`, imported only for `--cluster ray`) the `ray` extra. A transitive dependency imported directly (starlette through FastAPI, say) must be declared too.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "src" / "inferd"
EXTRAS_ALLOWED = {
    "importer": {"import"},
    "cli/import_model.py": {"import"},
    "cli/demo.py": {"import", "demo"},
    "cluster/ray_": {"ray"},
}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match is not None, requirement
    return _normalized(match.group(0))


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras: dict[str, set[str]] = {}
    for extra, requirements in project["optional-dependencies"].items():
        names = {_requirement_name(requirement) for requirement in requirements}
        extras[extra] = {name for name in names if name != "inferd"}
        for requirement in requirements:  # inferd[import] inside another extra
            if requirement.startswith("inferd["):
                for included in requirement[len("inferd["):-1].split(","):
                    extras[extra] |= {_requirement_name(r) for r in project["optional-dependencies"][included]}
    return {_requirement_name(requirement) for requirement in project["dependencies"]}, extras


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return {module for module in modules if module not in sys.stdlib_module_names and module != "inferd"}


def _extras_for(relative: str) -> set[str]:
    return next((extras for prefix, extras in EXTRAS_ALLOWED.items() if relative.startswith(prefix)), set())


def test_every_imported_package_is_declared_where_it_is_needed() -> None:
    base, extras = _declared()
    distributions = packages_distributions()
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        allowed = base.union(*(extras[extra] for extra in _extras_for(relative)))
        for module in sorted(_imports(path)):
            names = {_normalized(name) for name in distributions.get(module, [module])}
            if not names & allowed:
                problems.append(f"{relative} imports {module} ({', '.join(sorted(names))})")
    assert problems == [], "undeclared (or declared only in an extra this code may not need):\n" + "\n".join(problems)


def test_the_check_sees_an_undeclared_import(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("import json\nimport numpy as np\nfrom transformers import AutoModel\nfrom . import sibling\n")
    assert _imports(module) == {"numpy", "transformers"}
    base, extras = _declared()
    assert "transformers" not in base and "transformers" in extras["import"] and "transformers" in extras["demo"]

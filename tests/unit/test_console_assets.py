"""The console ships whole in the package: every file its page loads exists, nothing comes from another origin,
and each vendored library is the exact file its README names."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

from inferd.console import PAGE, STATIC_DIR

ROOT = Path(__file__).parents[2]
OWN_FILES = [PAGE, *STATIC_DIR.glob("*.css"), *STATIC_DIR.glob("js/**/*.js")]


def test_every_asset_the_page_loads_is_in_the_package() -> None:
    referenced = re.findall(r'(?:src|href)="assets/([^"]+)"', PAGE.read_text())
    assert len(referenced) >= 5
    for name in referenced:
        assert (STATIC_DIR / name).is_file(), name


def test_every_module_a_script_imports_exists() -> None:
    scripts = list(STATIC_DIR.glob("js/**/*.js"))
    assert len(scripts) >= 10
    for script in scripts:
        for target in re.findall(r'from "(\.[^"]+)"', script.read_text()):
            assert (script.parent / target).resolve().is_file(), (script.name, target)


def test_nothing_is_loaded_from_another_origin() -> None:
    for path in OWN_FILES:
        assert not re.search(r"https?://", path.read_text()), f"{path.name} names another origin"


def test_the_vendored_files_are_the_ones_the_readme_names() -> None:
    readme = (STATIC_DIR / "vendor" / "README.md").read_text()
    listed = dict(re.findall(r"^- `(\w+/[\w.-]+)` ([0-9a-f]{64})$", readme, re.MULTILINE))
    vendored = {str(path.relative_to(STATIC_DIR / "vendor")) for path in (STATIC_DIR / "vendor").rglob("*")
                if path.is_file() and path.name != "README.md" and not path.name.startswith("LICENSE")}
    assert vendored == set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((STATIC_DIR / "vendor" / name).read_bytes()).hexdigest() == digest, name
    for library in ("alpinejs", "uplot"):
        assert (STATIC_DIR / "vendor" / library / "LICENSE").is_file()


def test_the_package_data_takes_every_console_file() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "console/static/**/*" in package_data["inferd"]

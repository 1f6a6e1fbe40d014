"""The lock files in requirements/ agree with pyproject.toml: every declared requirement of a profile is pinned
there, at a version the declaration allows, with hashes; torch's CPU pin is the version pyproject names.

`scripts/lock.sh` refreshes them; this fails when pyproject.toml changed and the locks were not refreshed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parents[2]
PROFILES = {"base": (), "server": ("postgresql",), "demo": ("demo",), "dev": ("demo", "postgresql", "dev")}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def locked(profile: str) -> dict[str, list[tuple[Version, str | None, int]]]:
    """Package -> (version, marker, number of hashes) of each pin in requirements/<profile>.txt."""
    pins: dict[str, list[tuple[Version, str | None, int]]] = {}
    lines = (ROOT / "requirements" / f"{profile}.txt").read_text().splitlines()
    for index, line in enumerate(lines):
        found = PIN.match(line)
        if found:
            hashes = 0
            for following in lines[index + 1:]:
                if not following.strip().startswith("--hash=sha256:"):
                    break
                hashes += 1
            pins.setdefault(canonicalize_name(found.group(1)), []).append(
                (Version(found.group(2)), found.group(3), hashes))
    return pins


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted, requirements, pending = set(), [Requirement(text) for text in project["dependencies"]], list(extras)
    while pending:
        extra = pending.pop()
        if extra in wanted:
            continue
        wanted.add(extra)
        for text in project["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == "inferd":
                pending.extend(requirement.extras)
            else:
                requirements.append(requirement)
    return requirements


@pytest.mark.parametrize("profile", PROFILES)
def test_each_declared_requirement_is_pinned_with_hashes_at_an_allowed_version(profile: str) -> None:
    pins = locked(profile)
    problems = []
    for requirement in declared(PROFILES[profile]):
        name = canonicalize_name(requirement.name)
        if name == "torch":
            continue  # requirements/torch-cpu.txt, below
        if requirement.marker and not any(requirement.marker.evaluate({**default_environment(), "python_version": v,
                                                                      "python_full_version": f"{v}.0"})
                                          for v in ("3.11", "3.12")):
            continue
        if name not in pins:
            problems.append(f"{requirement} is not in requirements/{profile}.txt")
            continue
        for version, _, hashes in pins[name]:
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{requirement}: requirements/{profile}.txt pins {version}")
            if hashes == 0:
                problems.append(f"{name}=={version} has no hash in requirements/{profile}.txt")
    assert problems == [], "run scripts/lock.sh:\n" + "\n".join(problems)


def test_torch_is_pinned_to_its_cpu_build_at_the_declared_version() -> None:
    [torch] = [r for r in declared(()) if canonicalize_name(r.name) == "torch"]
    [(version, marker, hashes)] = locked("torch-cpu")["torch"]
    assert version.local == "cpu" and marker is None and hashes >= 2
    assert torch.specifier.contains(version), f"pyproject says {torch}, requirements/torch-cpu.txt {version}"
    for profile in PROFILES:
        assert "torch" not in locked(profile), f"torch comes from requirements/torch-cpu.txt, not {profile}.txt"

"""What this inferd is, for `inferd --version` and `GET /`: its own version and the versions it runs on."""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from inferd import __version__


@dataclass(frozen=True)
class BuildInfo:
    version: str
    torch: str | None
    """The installed torch's version (`2.13.0+cpu`), read from its metadata: importing torch takes seconds."""
    python: str

    def describe(self) -> str:
        return f"inferd {self.version} (torch {self.torch or 'not installed'}, Python {self.python})"


@functools.cache
def build_info() -> BuildInfo:
    try:
        torch = version("torch")
    except PackageNotFoundError:
        torch = None
    return BuildInfo(__version__, torch, platform.python_version())

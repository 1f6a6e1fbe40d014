"""Checking that an assembled definition is a loadable TorchScript archive, in a throwaway process.

The API process never loads uploaded bytes: the check runs `torch.jit.load` (TorchScript's own restricted
reader, never pickle) in a child process with a timeout, so a hostile or broken file cannot reach the server.
Run as `python -m inferd.control.definition_check PATH`.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from inferd.child_process import die_with_parent


class DefinitionRejected(Exception):
    """The bytes are not a TorchScript archive; the message says why in words a user can act on."""


def _archive_problem(path: Path) -> str | None:
    """Refuse anything that is not a zip holding TorchScript code (a torch.save or pickle file has none)."""
    if not zipfile.is_zipfile(path):
        return "it is not a TorchScript archive (a zip file written by torch.jit.save); pickle files are refused"
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        return f"it is a damaged zip file ({error})"
    if not any("/code/" in name for name in names) or not any(name.endswith("/constants.pkl") for name in names):
        return "it is a zip file without TorchScript code (torch.save files are refused; use torch.jit.save)"
    return None


def check_definition(path: Path, timeout_s: float) -> None:
    """Raise DefinitionRejected unless `path` loads with torch.jit.load in a separate process."""
    problem = _archive_problem(path)
    if problem:
        raise DefinitionRejected(problem)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "inferd.control.definition_check", str(path)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DefinitionRejected(f"loading it did not finish within {timeout_s:g}s") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise DefinitionRejected(f"torch.jit.load failed: {lines[-1] if lines else f'exit code {result.returncode}'}")


def _load(path: str) -> None:
    import warnings

    import torch

    warnings.simplefilter("ignore")
    torch.jit.load(path, map_location="cpu")


if __name__ == "__main__":
    die_with_parent()
    try:
        _load(sys.argv[1])
    except Exception as error:  # noqa: BLE001 - any failure means "not loadable"; report it and exit non-zero
        print(f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}",
              file=sys.stderr)
        sys.exit(1)

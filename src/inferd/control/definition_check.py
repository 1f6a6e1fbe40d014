"""Checking that an assembled definition is a loadable TorchScript archive that cannot touch files.

The API process never loads uploaded bytes. The check has three steps:

1. The archive (here): a zip file, at most `MAX_ENTRIES` entries, whose entries declare at most `MAX_EXPANSION_BYTES`
   more bytes than the archive holds and no compressed entry expanding more than `MAX_COMPRESSION_RATIO` times,
   so nothing can decompress it unbounded (a zip bomb); it must hold TorchScript code (a `torch.save` or pickle
   file has none and is refused: nothing uploaded is ever unpickled).
2. The code (here, before anything runs it): `torch.jit.load` runs the TorchScript `__setstate__` of every object
   it restores, and a worker runs `forward`. TorchScript cannot run Python, but a few of its operators reach the
   file system or the network: `torch.save` (truncates and writes any file), `torch.from_file` (creates a file and
   maps it writable), `debugprims::load_tensor`, and the distributed `c10d` operators and classes (`FileStore`,
   `TCPStore`). The code is read as text, string literals joined and escapes decoded, and any mention of these
   names refuses the archive, as does any custom class (`torch.classes.NAMESPACE.Class`) outside the namespaces of
   torch's own kernels that keep packed weights in one (`ALLOWED_CLASS_NAMESPACES`: an int8 model from `inferd import
   --quantize` holds `torch.classes.quantized.LinearPackedParamsBase`). Without them a TorchScript program computes
   on tensors and nothing else.
3. The load (a throwaway child process with a timeout, limited address space and CPU time, and `RLIMIT_FSIZE` 0):
   `torch.jit.load`, then every compiled method of every module, inlined, is searched again for those operators
   and classes, so code that slipped past the textual check still never reaches a worker.

Run as `python -m inferd.control.definition_check PATH MEMORY_BYTES CPU_SECONDS`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from inferd.child_process import die_with_parent

MAX_ENTRIES = 100_000
MAX_DIRECTORY_BYTES = 64 * 1024**2
MAX_EXPANSION_BYTES = 64 * 1024**2
"""What all entries may declare beyond the archive's own size (TorchScript stores tensors uncompressed)."""
MAX_COMPRESSION_RATIO = 200
"""Deflate reaches ~1000x only on degenerate input; TorchScript code compresses 3-10x."""
MAX_CODE_BYTES = 64 * 1024**2

FORBIDDEN_OPERATORS = frozenset({"aten::save", "aten::from_file"})
FORBIDDEN_NAMESPACES = frozenset({"debugprims", "c10d", "_c10d_functional", "_c10d_functional_autograd", "symm_mem"})
ALLOWED_CLASS_NAMESPACES = frozenset({"quantized", "_quantized", "mkldnn", "onednn", "sparse", "xnnpack"})
_FORBIDDEN_TEXT = re.compile(
    r"(?<![A-Za-z0-9_])(save|from_file|load_tensor|debugprims|symm_mem|FileStore|TCPStore|HashStore|PrefixStore)"
    r"(?![A-Za-z0-9_])|c10d|classes\s*\.\s*(?!(?:" + "|".join(sorted(ALLOWED_CLASS_NAMESPACES)) + r")\b)(\w+)"
)
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{1,3})")
_ADJACENT_LITERALS = re.compile(r"[\"']\s*[\"']")


class DefinitionRejected(Exception):
    """The bytes are not a TorchScript archive; the message says why in words a user can act on."""


def _archive_problem(path: Path) -> str | None:
    """Refuse anything that is not a bounded zip holding TorchScript code."""
    if not zipfile.is_zipfile(path):
        return "it is not a TorchScript archive (a zip file written by torch.jit.save); pickle files are refused"
    try:
        problem = _directory_problem(path)  # before ZipFile reads the whole directory into memory
        if problem:
            return problem
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ENTRIES:
                return f"it has [{len(entries)}] entries, more than the [{MAX_ENTRIES}] a TorchScript archive may have"
            problem = _expansion_problem(entries, path.stat().st_size)
            if problem:
                return problem
            names = [entry.filename for entry in entries]
            if not any("/code/" in name for name in names) or not any(name.endswith("/constants.pkl") for name in names):
                return "it is a zip file without TorchScript code (torch.save files are refused; use torch.jit.save)"
            return _code_problem(archive, entries)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError,
            RuntimeError) as error:  # RuntimeError: an encrypted entry
        return f"it is a damaged zip file ({error})"


def _directory_problem(path: Path) -> str | None:
    """The end record's counts, read before the directory is: a directory of millions of empty entries would
    cost gigabytes to parse."""
    with path.open("rb") as file:
        end = zipfile._EndRecData(file)  # type: ignore[attr-defined]
    if end is None:
        return "it is a damaged zip file (no end of central directory)"
    entries, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
    archive_bytes = path.stat().st_size
    if size > archive_bytes:
        return f"it is a damaged zip file (its directory claims [{size}] bytes; the archive has [{archive_bytes}])"
    if entries > MAX_ENTRIES or size > MAX_DIRECTORY_BYTES:
        return (f"its directory lists [{entries}] entries in [{size}] bytes, more than a TorchScript archive has "
                f"(at most [{MAX_ENTRIES}] entries in [{MAX_DIRECTORY_BYTES}] bytes)")
    return None


def _expansion_problem(entries: list[zipfile.ZipInfo], archive_bytes: int) -> str | None:
    declared = sum(entry.file_size for entry in entries)
    if declared > archive_bytes + MAX_EXPANSION_BYTES:
        return (f"its entries would expand to [{declared}] bytes, far more than the archive's [{archive_bytes}] "
                "(a zip bomb?)")
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED and entry.file_size > MAX_COMPRESSION_RATIO * max(
            entry.compress_size, 1
        ):
            return (f"its entry [{entry.filename}] would expand [{entry.file_size}] bytes from [{entry.compress_size}] "
                    "(a zip bomb?)")
    return None


def _code_problem(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> str | None:
    """Search the TorchScript source for the operators and classes that reach files or the network."""
    code = [entry for entry in entries if "/code/" in entry.filename and entry.filename.endswith(".py")]
    if sum(entry.file_size for entry in code) > MAX_CODE_BYTES:
        return f"its TorchScript code is larger than [{MAX_CODE_BYTES}] bytes"
    for entry in code:
        with archive.open(entry) as file:
            text = file.read(MAX_CODE_BYTES + 1).decode("utf-8", errors="replace")
        found = forbidden_reference(text)
        if found:
            return (f"its TorchScript code ([{entry.filename}]) uses [{found}], which can reach files or the "
                    "network; inferd refuses models that do")
    return None


def forbidden_reference(source: str) -> str | None:
    """The first forbidden name TorchScript `source` mentions, once its string literals are joined and decoded."""
    text = source.replace("\\\n", "")
    text = _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), text)
    text = _ADJACENT_LITERALS.sub("", text)
    match = _FORBIDDEN_TEXT.search(text)
    return match.group(0) if match else None


def check_definition(path: Path, timeout_s: float, memory_bytes: int = 2 * 1024**3) -> None:
    """Raise DefinitionRejected unless `path` is a safe TorchScript archive that loads in a separate process."""
    path = path.resolve()  # the child runs in the file's folder: a path relative to ours would not name the file there
    problem = _archive_problem(path)
    if problem:
        raise DefinitionRejected(problem)
    address_space = memory_bytes + 3 * path.stat().st_size
    environment = {
        **os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "inferd.control.definition_check", str(path), str(address_space),
             str(int(timeout_s) + 1)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=path.parent,
            env=environment,
        )
    except subprocess.TimeoutExpired:
        raise DefinitionRejected(f"loading it did not finish within {timeout_s:g}s") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        if result.returncode < 0:
            reason = f"the loading process was killed by signal {-result.returncode} (memory or CPU time limit)"
        else:
            reason = lines[-1] if lines else f"exit code {result.returncode}"
        prefix = f"{DefinitionRejected.__name__}: "
        raise DefinitionRejected(reason[len(prefix):] if reason.startswith(prefix) else f"torch.jit.load failed: {reason}")


def _limit_resources(address_space: int, cpu_s: int) -> None:
    """This process may not grow past `address_space` bytes, run past `cpu_s` seconds, or write a file."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def forbidden_in_graphs(module: object) -> str | None:
    """The first forbidden operator or class any compiled method of `module` (inlined) uses, or None."""
    import torch

    assert isinstance(module, torch.jit.ScriptModule)
    for _, submodule in module.named_modules():
        for name in submodule._c._method_names():
            graph = submodule._c._get_method(name).graph.copy()
            torch._C._jit_pass_inline(graph)
            found = _forbidden_node(graph)
            if found:
                return found
    return None


def _forbidden_node(graph: object) -> str | None:
    pending = [graph]
    while pending:
        for node in pending.pop().nodes():  # type: ignore[attr-defined]
            kind = node.kind()
            if kind in FORBIDDEN_OPERATORS or kind.split("::")[0] in FORBIDDEN_NAMESPACES:
                return str(kind)
            for value in (*node.inputs(), *node.outputs()):
                name = str(value.type())
                if name.startswith("__torch__.torch.classes."):
                    namespace = name.split(".")[3]
                    if namespace not in ALLOWED_CLASS_NAMESPACES:
                        return name
            pending.extend(node.blocks())
    return None


def _load(path: str) -> None:
    import warnings

    import torch

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    module = torch.jit.load(path, map_location="cpu")  # type: ignore[no-untyped-call]
    found = forbidden_in_graphs(module)
    if found:
        raise DefinitionRejected(f"its compiled code uses [{found}], which can reach files or the network")


if __name__ == "__main__":
    die_with_parent()
    _limit_resources(int(sys.argv[2]), int(sys.argv[3]))
    try:
        _load(sys.argv[1])
    except Exception as error:  # noqa: BLE001 - any failure means "not loadable"; report it and exit non-zero
        print(f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}",
              file=sys.stderr)
        sys.exit(1)

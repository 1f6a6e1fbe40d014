"""Hostile definitions: TorchScript hooks that reach files, zip bombs, truncated archives, memory and time bombs.

`torch.jit.load` runs a module's TorchScript `__setstate__`, and TorchScript has operators that write files
(`torch.save`) or create and map them (`torch.from_file`). These tests build such modules, show the check refuses
them before anything runs them, and that the marker files they would write never appear.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Tuple

import pytest
import torch

from inferd.control import definition_check
from inferd.control.definition_check import (
    MAX_COMPRESSION_RATIO,
    DefinitionRejected,
    _archive_problem,
    check_definition,
    forbidden_in_graphs,
    forbidden_reference,
)
from inferd.importer.tracing import quantize_linear_layers



class Plain(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.ones(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.w


class _Hooked(Plain):
    """Its TorchScript `__getstate__`/`__setstate__` pair: `torch.jit.load` runs `__setstate__`."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    @torch.jit.export
    def __getstate__(self) -> Tuple[torch.Tensor, str, bool]:
        return (self.w, self.marker, self.training)


class Saves(_Hooked):
    @torch.jit.export
    def __setstate__(self, state: Tuple[torch.Tensor, str, bool]) -> None:
        self.w, self.marker, self.training = state
        torch.save(self.w, self.marker)


class MapsFile(_Hooked):
    @torch.jit.export
    def __setstate__(self, state: Tuple[torch.Tensor, str, bool]) -> None:
        self.w, self.marker, self.training = state
        self.w = self.w + torch.from_file(self.marker, True, 2)  # creates the file, maps it writable


HOOKS = {"save": Saves, "from_file": MapsFile}


def _save(module: torch.nn.Module, path: Path) -> Path:
    torch.jit.save(torch.jit.script(module), str(path))
    return path


@pytest.mark.parametrize("how", ["save", "from_file"])
def test_a_setstate_hook_that_writes_a_file_is_refused_before_it_runs(tmp_path: Path, how: str) -> None:
    marker = tmp_path / "pwned"
    archive = _save(HOOKS[how](str(marker)), tmp_path / "hooked.pt")
    with pytest.raises(DefinitionRejected, match=rf"uses \[{how}\], which can reach files"):
        check_definition(archive, timeout_s=60)
    assert not marker.exists()
    # The payload is real: a plain torch.jit.load, in a process of its own, writes the file.
    load = f"import torch; torch.jit.load({str(archive)!r})"
    subprocess.run([sys.executable, "-c", load], check=True, capture_output=True, timeout=120)
    assert marker.exists()


class SavesInForward(Plain):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.save(x, "/tmp/inferd-never-written")
        return x + self.w


def test_the_compiled_code_is_searched_too() -> None:
    """The second line: whatever slipped past the text is found in the loaded module's inlined graphs."""
    assert forbidden_in_graphs(torch.jit.script(SavesInForward())) == "aten::save"
    assert forbidden_in_graphs(torch.jit.script(Plain())) is None


@pytest.mark.parametrize(
    "source",
    [
        'torch.save(x, "/tmp/a")',
        'ops.aten.save(x, "/tmp/a")',
        'getattr(torch, "sa" "ve")(x, "/tmp/a")',
        "getattr(torch, 'sa'\n   've')(x, '/tmp/a')",
        'getattr(torch, "\\163ave")(x, "/tmp/a")',
        'getattr(torch, "sa\\\nve")(x, "/tmp/a")',
        'torch.from_file("/tmp/a", True, 8)',
        "ops.debugprims.load_tensor(\"x\", [1], 6, 0, 'cpu', False)",
        "__torch__.torch.classes.dist_c10d.FileStore",
        "torch.ops.c10d.broadcast_",
        "torch.classes . evil.Thing",
    ],
)
def test_hiding_a_forbidden_name_in_the_source_does_not_work(source: str) -> None:
    assert forbidden_reference(f"def forward(self, x):\n  {source}\n  return x\n") is not None


@pytest.mark.parametrize(
    "source",
    [
        "return torch.add(x, w)",
        "_packed_params : __torch__.torch.classes.quantized.LinearPackedParamsBase",
        'layer = getattr(self.layer, "0")',
        "saved = self.saves_tensor  # names that merely contain the word",
    ],
)
def test_ordinary_model_code_is_not_refused(source: str) -> None:
    assert forbidden_reference(source) is None


def test_an_int8_model_passes_the_check(tmp_path: Path) -> None:
    """`inferd import --quantize`: the int8 linear layers keep their weights in `torch.classes.quantized` objects."""
    quantized = quantize_linear_layers(torch.nn.Sequential(torch.nn.Linear(8, 4)).eval())
    traced = torch.jit.freeze(torch.jit.trace(quantized, torch.ones(1, 8)))
    torch.jit.save(traced, str(tmp_path / "int8.pt"))
    assert "quantized::linear_dynamic" in str(traced.inlined_graph)
    assert forbidden_in_graphs(traced) is None
    check_definition(tmp_path / "int8.pt", timeout_s=60)


def _torchscript_names(archive: zipfile.ZipFile) -> None:
    archive.writestr("m/code/__torch__.py", "class M(Module):\n  pass\n")
    archive.writestr("m/constants.pkl", b"")


def test_a_zip_bomb_is_refused_without_decompressing_it(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        _torchscript_names(archive)
        archive.writestr("m/data/0", b"\0" * (MAX_COMPRESSION_RATIO * 100_000))
    started = time.monotonic()
    problem = _archive_problem(path)
    assert problem is not None and "zip bomb" in problem
    assert time.monotonic() - started < 1


def test_entries_that_declare_more_than_the_archive_holds_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "liar.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        _torchscript_names(archive)
        archive.writestr("m/data/0", b"x" * 1000)
    data = bytearray(path.read_bytes())
    directory = data.rfind(b"PK\x01\x02")  # the last entry's central directory record
    struct.pack_into("<I", data, directory + 24, 0xFFFF0000)  # its uncompressed size: ~4 GiB
    path.write_bytes(bytes(data))
    problem = _archive_problem(path)
    assert problem is not None and "would expand to" in problem


def test_a_truncated_archive_is_refused(tmp_path: Path) -> None:
    whole = _save(Plain(), tmp_path / "whole.pt").read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DefinitionRejected, match="not a TorchScript archive"):
        check_definition(cut, timeout_s=60)
    hollow = tmp_path / "hollow.pt"  # the central directory survives, the entries it points at do not
    directory = whole.find(b"PK\x01\x02")
    hollow.write_bytes(whole[:200] + b"\0" * (directory - 200) + whole[directory:])
    with pytest.raises(DefinitionRejected):
        check_definition(hollow, timeout_s=60)


class AllocatesOnLoad(Plain):
    @torch.jit.export
    def __getstate__(self) -> Tuple[torch.Tensor, bool]:
        return (self.w, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[torch.Tensor, bool]) -> None:
        self.w = torch.ones(1 << 36)  # 256 GiB of floats
        self.training = state[1]


def test_a_memory_bomb_in_a_hook_hits_the_check_process_limit(tmp_path: Path) -> None:
    archive = _save(AllocatesOnLoad(), tmp_path / "greedy.pt")
    with pytest.raises(DefinitionRejected, match="torch.jit.load failed"):
        check_definition(archive, timeout_s=60, memory_bytes=1024**3)


def test_a_plain_module_passes(tmp_path: Path) -> None:
    check_definition(_save(Plain(), tmp_path / "plain.pt"), timeout_s=60)


def test_a_directory_of_too_many_entries_is_refused_before_it_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(definition_check, "MAX_ENTRIES", 10)
    path = tmp_path / "crowded.pt"
    with zipfile.ZipFile(path, "w") as archive:
        _torchscript_names(archive)
        for index in range(9):
            archive.writestr(f"m/data/{index}", b"")
    problem = _archive_problem(path)
    assert problem is not None and problem.startswith("its directory lists [11] entries")


def test_a_directory_larger_than_the_archive_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "liar.pt"
    with zipfile.ZipFile(path, "w") as archive:
        _torchscript_names(archive)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, data.rfind(b"PK\x05\x06") + 12, 0xFFFFF000)  # directory size: ~4 GiB
    path.write_bytes(bytes(data))
    problem = _archive_problem(path)
    assert problem is not None and "damaged zip file" in problem


def test_an_encrypted_entry_is_a_damaged_archive_not_a_server_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.pt"
    with zipfile.ZipFile(path, "w") as archive:
        _torchscript_names(archive)
    data = bytearray(path.read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)  # the code entry's headers come first
        struct.pack_into("<H", data, at + flags_at, 1)  # general purpose flag bit 0: encrypted
    path.write_bytes(bytes(data))
    problem = _archive_problem(path)
    assert problem is not None and "damaged zip file" in problem


def test_a_path_relative_to_the_server_directory_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's default data dir is relative (`data`); the check's child runs elsewhere and must still find it."""
    (tmp_path / "data" / "tmp").mkdir(parents=True)
    _save(Plain(), tmp_path / "data" / "tmp" / "plain.pt")
    monkeypatch.chdir(tmp_path)
    check_definition(Path("data/tmp/plain.pt"), timeout_s=60)

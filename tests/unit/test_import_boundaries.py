"""The server stays light: serving never loads torch or transformers (workers and the importer do)."""

import subprocess
import sys


def test_the_server_and_cli_import_neither_torch_nor_transformers() -> None:
    code = (
        "import sys, inferd.cli.main, inferd.api.app\n"
        "print(sorted(name for name in ('torch', 'transformers') if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

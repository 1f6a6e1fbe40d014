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


def test_the_cli_starts_without_the_server_or_the_store() -> None:
    """`inferd keys list` or `inferd deployments show` is a REST client: only `serve` and the data-dir tools load the
    server's parts (SQLAlchemy alone cost each command about 0.3 s), and they do it when they run."""
    code = (
        "import sys, inferd.cli.main\n"
        "heavy = ('sqlalchemy', 'fastapi', 'uvicorn', 'alembic', 'torch', 'numpy', 'inferd.api', 'inferd.control',\n"
        "         'inferd.store', 'inferd.runtime')\n"
        "print(sorted(name for name in heavy if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_nlp_is_pure() -> None:
    """`nlp` imports nothing of inferd outside itself, and no torch, sqlalchemy or fastapi."""
    code = (
        "import sys, inferd.nlp, inferd.nlp.tasks\n"
        "heavy = ('torch', 'transformers', 'sqlalchemy', 'fastapi')\n"
        "inferd = [m for m in sys.modules if m.startswith('inferd.') and not m.startswith('inferd.nlp')]\n"
        "print(sorted([name for name in heavy if name in sys.modules] + inferd))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

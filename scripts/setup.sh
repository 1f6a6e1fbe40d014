#!/usr/bin/env bash
# Creates .venv in the checkout and installs inferd into it; `--dev` adds the test dependencies, and
# elasticsearch-py 8.19 beside them in .venv/es8 (on PYTHONPATH, for the test of the `body=` form 8.x users write).
# torch is installed first and pinned: an unpinned requirement can pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="import"
[ "${1:-}" = "--dev" ] && extras="import,dev"
[ -x .venv/bin/python ] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${extras}]"
if [ "${1:-}" = "--dev" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-warn-conflicts --upgrade \
        --target .venv/es8 "elasticsearch>=8.19,<9"
fi

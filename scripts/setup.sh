#!/usr/bin/env bash
# Installs inferd into a virtual environment from the lock files in requirements/ (every package pinned with its
# SHA-256; scripts/lock.sh refreshes them). The same steps serve README's two commands, CI and the Docker image.
#   scripts/setup.sh                 .venv in the checkout, profile demo: the server, `inferd import`, the demo model
#   scripts/setup.sh --dev           .venv, profile dev: all of that and the test tools (and elasticsearch-py 8.x in
#                                    .venv/es8, put on PYTHONPATH by the test of the `body=` form 8.x users write)
#   scripts/setup.sh --profile P [--venv DIR]
#                                    P is base (the server alone, what `pip install inferd` needs), server (base and the
#                                    PostgreSQL driver: the Docker image), demo or dev. base and server install inferd
#                                    as a package; demo and dev install it editable, for working on the checkout.
# Python 3.11 or 3.12 (PYTHON=... picks one). torch comes first, from PyTorch's CPU index
# (INFERD_TORCH_INDEX_URL): PyPI's Linux wheel is the CUDA build and pulls several GB that a CPU server never uses.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=demo
venv=.venv
while [ $# -gt 0 ]; do
    case "$1" in
        --dev) profile=dev ;;
        --profile) profile=${2:?--profile needs base, server, demo or dev}; shift ;;
        --venv) venv=${2:?--venv needs a directory}; shift ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$profile" in
    base|server|demo|dev) ;;
    *) echo "setup.sh: unknown profile $profile: base, server, demo or dev" >&2; exit 2 ;;
esac

supported='import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))'
if [ ! -x "$venv/bin/python" ]; then
    python=""
    for candidate in ${PYTHON:-} python3.11 python3.12 python3; do
        if command -v "$candidate" >/dev/null && "$candidate" -c "$supported" 2>/dev/null; then
            python=$candidate
            break
        fi
    done
    if [ -z "$python" ]; then
        echo "setup.sh: inferd needs Python 3.11 or 3.12 (set PYTHON=/path/to/python3.x)" >&2
        exit 1
    fi
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -c "$supported" || { echo "setup.sh: $venv is not Python 3.11 or 3.12; remove it" >&2; exit 1; }

pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps)
# Few retries: where PyTorch's index is unreachable, a mirror or local wheel pip is configured with serves instead.
"${pip[@]}" --retries 2 --extra-index-url "${INFERD_TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" \
    -r requirements/torch-cpu.txt
"${pip[@]}" -r "requirements/$profile.txt"
# Every dependency is installed and hash-checked above; inferd itself is built from the checkout, with the locked
# setuptools (no build isolation, which would fetch an unpinned one).
case "$profile" in
    base|server) editable=() ;;
    *) editable=(--editable) ;;
esac
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation "${editable[@]}" .
if [ "$profile" = dev ]; then
    "${pip[@]}" --upgrade --target "$venv/es8" -r requirements/es8.txt
fi

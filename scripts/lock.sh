#!/usr/bin/env bash
# Refreshes the lock files in requirements/ from pyproject.toml: every package pinned, with the SHA-256 of every
# wheel and sdist it may install from, for Linux x86-64/aarch64 and CPython 3.11-3.12 (a universal resolution).
#   scripts/lock.sh             keep the pinned versions where pyproject.toml still allows them
#   scripts/lock.sh --upgrade   move every package to its newest allowed release
# torch is not re-resolved: requirements/torch-cpu.txt pins its CPU build by hand (see that file). Needs uv
# (`./scripts/setup.sh --dev` installs it in .venv). The profiles (what scripts/setup.sh installs):
#   base      the server alone, what `pip install inferd` needs
#   server    base and the PostgreSQL driver: the Docker image
#   demo      base, the importer and the demo model: README's first command
#   dev       everything, with the test tools: README's second command and CI
#   es8       elasticsearch-py 8.x beside the 9.x client, for the test of the `body=` form 8.x users write
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
# Where torch's CPU wheel is found when resolving: a local mirror pip is configured with, else PyTorch's index.
torch_links=${PIP_FIND_LINKS:-https://download.pytorch.org/whl/cpu/torch/}
compile() {  # compile OUTPUT [uv pip compile arguments...]
    local output=$1
    shift
    "$uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes --no-header \
        --find-links "$torch_links" --override requirements/torch-cpu.txt --no-emit-package torch \
        --custom-compile-command "scripts/lock.sh" -o "requirements/$output.txt" "$@"
}
# dev holds every package of every profile; the others are constrained to its versions, so profiles never disagree.
compile dev pyproject.toml requirements/build.in --all-extras "$@"
compile base pyproject.toml requirements/build.in -c requirements/dev.txt
compile server pyproject.toml requirements/build.in --extra postgresql -c requirements/dev.txt
compile demo pyproject.toml requirements/build.in --extra demo -c requirements/dev.txt
# The 8.x client and its transport only: what else they import comes from the environment, at dev's versions.
compile es8 requirements/es8.in --no-deps
echo "requirements/: $(grep -chE '^[a-z0-9]' requirements/{base,server,demo,dev,es8}.txt | paste -sd' ') packages (base server demo dev es8)"

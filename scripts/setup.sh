#!/usr/bin/env bash
# Fresh-machine install into ./.venv: CPU torch first (an unpinned torch from PyPI is a multi-GB CUDA build),
# then the pack and its test/eval extras, always constrained to that torch.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -c constraints.txt -e ".[test,eval]"
# trackeval (HOTA cross-checks in the tests) declares the GUI opencv build, which clashes with the headless one.
"${PIP[@]}" --no-deps trackeval==1.3.0
echo "Choreograph installed in $(pwd)/.venv"

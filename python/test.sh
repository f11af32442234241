#!/usr/bin/env bash
# Builds the Python package into a fresh virtual environment and runs its tests against the
# release binary of this checkout (built first if missing): the same errors, the same files
# byte for byte, Ctrl-C and resume.
#
#   bash python/test.sh            # venv in .venv (created if missing)
#
# Needs python3 with venv and pip, and PyPI (maturin, pandas, pytest, gymnasium, pettingzoo
# and the other test tools are installed in the venv, nothing system-wide).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${VENV:-$root/.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip >/dev/null
"$venv/bin/pip" install --quiet "maturin>=1,<2" "pandas>=1.3" numpy pytest distributed matplotlib jsonschema taplo "gymnasium>=1.1" "pettingzoo>=1.24"
[ -x target/release/coordsim ] || cargo build --release --bin coordsim
(cd python && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --release --quiet)
COORDSIM_BIN="${COORDSIM_BIN:-$root/target/release/coordsim}" "$venv/bin/python" -m pytest -q python/tests

#!/usr/bin/env bash
# The test suite: install, then pytest (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
# One OpenBLAS thread: the suite's arrays are small, and a second thread on a
# busy 2-core machine made the cat-image runs up to 20x slower.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
exec .venv/bin/python -m pytest "$@"

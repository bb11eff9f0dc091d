#!/usr/bin/env bash
# The main job: install, run every concept both ways and print the parity table,
# then run every experiment both ways on a small budget and print the report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
.venv/bin/python -m parity_tests.report "$@"
exec .venv/bin/python -m experiments run all --quick

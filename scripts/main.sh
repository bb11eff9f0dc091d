#!/usr/bin/env bash
# The main job: install, then run every concept both ways and print the parity table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
exec .venv/bin/python -m parity_tests.report "$@"

#!/usr/bin/env bash
# The main job: install, run every concept both ways and print the parity table,
# then run every experiment both ways on a small budget and print the report.
#
#   bash scripts/main.sh [--device auto|cpu|cuda] [--dtype float64|float32] [--verbose] [RUN OPTION ...]
#
# --device and --dtype go to both (the parity table without --dtype shows both dtypes, the
# experiments float64); --verbose to the parity table only; every other option to
# `python -m experiments run all --quick` (--seed N, --logdir DIR, --data-dir DIR, --impl ...).
# Exit status: the parity table's when it fails (1: a row fails, 2: bad input), else the
# experiments' (python -m experiments run --help).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

parity=() experiments=()
while (($#)); do
    case $1 in
        -h|--help)
            sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
            exit 0 ;;
        --device|--dtype)
            if (($# < 2)); then
                echo "error: $1 needs a value" >&2
                exit 2
            fi
            parity+=("$1" "$2") experiments+=("$1" "$2")
            shift 2 ;;
        --device=*|--dtype=*)
            parity+=("$1") experiments+=("$1")
            shift ;;
        --verbose)
            parity+=("$1")
            shift ;;
        *)
            experiments+=("$1")
            shift ;;
    esac
done

source scripts/setup.sh
.venv/bin/python -m parity_tests.report ${parity[@]+"${parity[@]}"}
exec .venv/bin/python -m experiments run all --quick ${experiments[@]+"${experiments[@]}"}

#!/usr/bin/env bash
# The newcomer's path, checked: clone the committed HEAD into an empty temporary folder (nothing
# beside it: no ../shared/data, no .venv), run the README's main command there, and require exit 0
# and a report on the course's own data (no stand-in). CI runs it; by hand:
#   bash scripts/fresh_clone.sh            (KEEP=1 keeps the clone and prints where it is)
# Uncommitted changes are not in the clone: commit first.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
git clone --quiet --no-hardlinks "$repo" "$work/twinprop"
cd "$work/twinprop"
echo "fresh clone of $(git rev-parse --short HEAD) in $work/twinprop; running: bash scripts/main.sh"
unset TWINPROP_DATA_DIR
status=0
start=$SECONDS
bash scripts/main.sh > "$work/main.log" 2>&1 || status=$?
tail -n 5 "$work/main.log"
echo "main command: exit $status after $((SECONDS - start)) s"
if [ "$status" -ne 0 ]; then
  echo "FAIL: the README's main command exited $status in a fresh clone; its output ends:" >&2
  tail -n 40 "$work/main.log" >&2
  exit 1
fi
if grep -n "stand-in" "$work/main.log" >&2; then
  echo "FAIL: a fresh clone ran on stand-in data (the lines above): the shipped course data was not used" >&2
  exit 1
fi
grep -q "data: $work/twinprop/experiments/data/" "$work/main.log" \
  || { echo "FAIL: the report names no data read from the shipped experiments/data" >&2; exit 1; }
echo "fresh clone: OK (exit 0, every experiment on the course's data or its generated points)"

#!/usr/bin/env bash
# The installable package, checked as a user gets it. The working tree's files (tracked and untracked, not
# the ignored ones: no .venv, no build/) are copied into an empty temporary folder; there `pip install .`
# goes into a fresh virtual environment, every dependency from the configured package index (no
# --system-site-packages, no --no-deps: torch and the rest are installed again, about 50 s here). Then, from
# a folder outside the project: `twinprop --help`, `twinprop check` on an example layer, pytest listing the
# plugin by its entry point, and the pytest-plugin example (examples/pytest_plugin_example, copied out) run
# by plain `pytest`, nothing imported from the source tree. CI runs it from .ci/run; by hand:
#   bash scripts/package_check.sh            (KEEP=1 keeps the folder and prints where it is)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
[ "${KEEP:-0}" = 1 ] && echo "package check in $work" || trap 'rm -rf "$work"' EXIT
PY=$(command -v python3.11 || command -v python3)
start=$SECONDS

mkdir "$work/src" "$work/user"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard \
   | tar --null --ignore-failed-read -T - -cf -) | tar -C "$work/src" -xf -
"$PY" -m venv "$work/venv"
bin="$work/venv/bin"
if ! (cd "$work/src" && "$bin/python" -m pip install --disable-pip-version-check . > "$work/pip.log" 2>&1); then
  echo "FAIL: pip install . into a fresh virtual environment; its output ends:" >&2
  tail -n 40 "$work/pip.log" >&2
  exit 1
fi
installed=$(grep -o 'Successfully installed.*' "$work/pip.log" | wc -w)
echo "pip install . into a fresh venv: $((installed - 2)) distributions, twinprop" \
     "$("$bin/python" -c 'import importlib.metadata as m; print(m.version("twinprop"))') among them," \
     "in $((SECONDS - start)) s"

cp "$repo"/examples/pytest_plugin_example/*.py "$work/user/"
cd "$work/user"
"$bin/twinprop" --help
"$bin/twinprop" check examples.relu:forward,backward --inputs Z=4x6 --against "torch.relu(Z)" > check.log \
  || { cat check.log >&2; echo "FAIL: twinprop check on examples.relu" >&2; exit 1; }
where=$("$bin/python" -c 'import parity_tests; print(parity_tests.__file__)')
case "$where" in
  "$work/venv/"*) ;;
  *) echo "FAIL: parity_tests was imported from $where, not from the installed package" >&2; exit 1 ;;
esac
"$bin/python" -m pytest -VV 2>&1 | grep -q "twinprop-" \
  || { echo "FAIL: pytest does not list the twinprop plugin (entry point pytest11)" >&2; exit 1; }
# The plugin loads by its entry point alone: no -p, no conftest.py in the user's folder.
"$bin/python" -m pytest -q -p no:cacheprovider
echo "package check: OK (pip install ., twinprop --help, twinprop check, the plugin example) in $((SECONDS - start)) s"

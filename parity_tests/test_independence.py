"""The twins are independent: reference_torch computes every concept with torch.

reference_torch may import from scratch_numpy only what both sides must share to be compared at
all, and nothing that computes a concept:

    scratch_numpy.validation   the generic input checks (arrays, counts, choices)
    scratch_numpy.contract     each concept's input contract (which arguments are accepted)
    scratch_numpy.records      plain result records (History, GradCheckReport, Diagnosis, ...) and the
                               course's reading of a gradient-check difference (verdict: good below 1e-7,
                               bug from 1e-3), thresholds both sides quote; no parity row compares them
    scratch_numpy.draws        the shared random draws (permutations, batches drawn with replacement)

Those four import only each other, so nothing that computes reaches torch through them; and
reference_torch's own modules import each other without a cycle. A planted bug in a NumPy
concept module can therefore only make the NumPy side wrong, which its parity row then shows
(parity_tests/mutants.py proves it row by row).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = {"validation", "contract", "records", "draws"}


def imported_modules(source: str, package: str) -> list[str]:
    """Every module a source imports, anywhere in it (lazy imports too), as dotted absolute names;
    ``from pkg import name`` counts as pkg.name (a submodule or a name of pkg, both a dependency)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([package] + ([base] if base else []))
            found += [f"{base}.{alias.name}" if base in ("scratch_numpy", package) else base for alias in node.names]
    return found


def forbidden(source: str, package: str = "reference_torch") -> list[str]:
    """The scratch_numpy modules (or names) a source imports beyond the shared four."""
    return [name for name in imported_modules(source, package)
            if name.split(".")[0] == "scratch_numpy" and (len(name.split(".")) < 2 or name.split(".")[1] not in SHARED)]


def _modules(package: str) -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted((REPO / package).glob("*.py"))}


def test_the_rule_reader_sees_every_form_of_import():
    source = ("from scratch_numpy.splits import part_sizes\nimport scratch_numpy.gradcheck\n"
              "from scratch_numpy import early_stopping, records\nfrom scratch_numpy.validation import check_count\n"
              "def f():\n    from scratch_numpy.diagnosis import diagnose\n")
    assert forbidden(source) == ["scratch_numpy.splits", "scratch_numpy.gradcheck", "scratch_numpy.early_stopping",
                                 "scratch_numpy.diagnosis"]


@pytest.mark.parametrize("module", sorted(_modules("reference_torch")))
def test_reference_torch_imports_only_the_contract_records_and_draws(module):
    assert forbidden(_modules("reference_torch")[module]) == [], \
        f"reference_torch/{module}.py imports NumPy computation; compute it with torch (parity_tests/test_independence.py)"


@pytest.mark.parametrize("module", sorted(SHARED))
def test_the_shared_modules_import_only_each_other(module):
    own = [name.split(".")[1] for name in imported_modules(_modules("scratch_numpy")[module], "scratch_numpy")
           if name.startswith("scratch_numpy.")]
    assert set(own) <= SHARED, f"scratch_numpy/{module}.py imports {sorted(set(own) - SHARED)}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle of a directed graph found by depth-first search, each as the path that closes it."""
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"
    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"models": {"optim"}, "optim": {"bridge", "models"}, "bridge": set()}) == [["models", "optim", "models"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_reference_torch_modules_import_each_other_without_a_cycle():
    modules = _modules("reference_torch")
    graph = {name: {dep.split(".")[1] for dep in imported_modules(source, "reference_torch")
                    if dep.startswith("reference_torch.") and dep.split(".")[1] in modules} - {name}
             for name, source in modules.items()}
    assert cycles(graph) == []

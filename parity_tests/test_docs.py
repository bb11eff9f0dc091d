"""Every test a document cites still exists where the document says it is.

The documents (README, CONVENTIONS, RELIABILITY, PERFORMANCE, the data README) cite tests as
``parity_tests/test_x.py::test_y``, ``test_x.py::test_y`` (a file found by its name under
parity_tests/), ``::test_z`` (the file cited just before) or a bare ```test_y``` (defined somewhere
under parity_tests/). A renamed or moved test leaves a document pointing at nothing; this test
names each such citation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([*REPO.glob("*.md"), *REPO.glob("experiments/**/*.md"), *REPO.glob("examples/**/*.md")])
CITATION = re.compile(r"(?P<file>(?:[\w/]+/)?test_\w+\.py)?::(?P<name>test_\w+)|`(?P<bare>test_\w+)`")
DEFINITION = re.compile(r"^\s*(?:async\s+)?def (test_\w+)\(|^(test_\w+) = ", re.MULTILINE)


def _defined() -> dict[Path, set[str]]:
    """{test file: the tests it defines, by ``def test_x(`` or bound by name, ``test_x = ...``}."""
    return {path: {name for pair in DEFINITION.findall(path.read_text()) for name in pair if name}
            for path in REPO.glob("parity_tests/**/test_*.py")}


def _resolve(cited: str, defined: dict[Path, set[str]]) -> list[Path]:
    """The test files a cited file name stands for: the exact path, else every file of that name."""
    exact = REPO / cited
    if exact in defined:
        return [exact]
    return [path for path in defined if path.name == Path(cited).name] if "/" not in cited else []


def citations(text: str):
    """(cited file or None, test name) in order; ``::name`` inherits the file cited just before it."""
    last_file = None
    for match in CITATION.finditer(text):
        if match["bare"]:
            yield None, match["bare"]
            continue
        if match["file"]:
            last_file = match["file"]
        yield last_file, match["name"]


def test_the_citation_reader_finds_each_form():
    text = ("see `parity_tests/test_a.py::test_one`, `::test_two`, test_b.py::test_three "
            "and `test_four`; ::test_five")
    assert list(citations(text)) == [("parity_tests/test_a.py", "test_one"), ("parity_tests/test_a.py", "test_two"),
                                     ("test_b.py", "test_three"), (None, "test_four"), ("test_b.py", "test_five")]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_cited_test_exists(document):
    defined = _defined()
    everywhere = set().union(*defined.values())
    missing = []
    for cited_file, name in citations(document.read_text()):
        if cited_file is None:
            if name not in everywhere:
                missing.append(name)
            continue
        files = _resolve(cited_file, defined)
        if not files:
            missing.append(f"{cited_file} (no such test file)")
        elif not any(name in defined[path] for path in files):
            missing.append(f"{cited_file}::{name}")
    assert not missing, f"{document.name} cites tests that do not exist: {missing}"


PATH = re.compile(r"\b(?:scratch_numpy|reference_torch|parity_tests|experiments|examples|scripts)/[\w/.-]*\w\.(?:py|sh|md|h5)\b")
MODULE_RUN = re.compile(r"python -m ([\w.]+)")


def test_the_path_readers_find_paths_and_commands():
    text = "see `parity_tests/twins/models.py`, scripts/test.sh and run `python -m parity_tests.checker x.py`"
    assert PATH.findall(text) == ["parity_tests/twins/models.py", "scripts/test.sh"]
    assert MODULE_RUN.findall(text) == ["parity_tests.checker"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_cited_file_and_command_module_exists(document):
    """Each repository file a document names exists, and each ``python -m`` module it runs is a module or
    package of the repository (or of the standard library / an installed tool such as pip and pytest)."""
    text = document.read_text()
    missing = [path for path in PATH.findall(text) if not (REPO / path).exists()]
    for module in MODULE_RUN.findall(text):
        parts = module.split(".")
        if parts[0] in ("scratch_numpy", "reference_torch", "parity_tests", "experiments", "examples") and not (
                (REPO / "/".join(parts)).with_suffix(".py").exists() or (REPO / "/".join(parts) / "__main__.py").exists()):
            missing.append(f"python -m {module}")
    assert not missing, f"{document.name} names what does not exist: {missing}"

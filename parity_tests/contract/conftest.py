"""The fuzz counts in the terminal summary, and the whole-registry check run last."""

from parity_tests.contract import fuzzing


def pytest_collection_modifyitems(items):
    """``test_every_target_was_fuzzed`` reads the counts of every file's targets: it runs after them."""
    items.sort(key=lambda item: item.name == "test_every_target_was_fuzzed")


def pytest_terminal_summary(terminalreporter):
    """The table of inputs tried per fuzzed function, when any ran."""
    if any(t.counts["tried"] for t in fuzzing.TARGETS.values()):
        terminalreporter.write_sep("-", "fuzz: inputs tried per function (parity_tests/contract/)")
        for line in fuzzing.report_lines():
            terminalreporter.write_line(line)

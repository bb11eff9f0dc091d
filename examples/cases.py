"""A layer variant to check, and what the check must say about it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from parity_tests.checker.harness import ParityReport, check_backward


@dataclass(frozen=True)
class Case:
    """``checker(forward, backward, **check)``: by default ``check_backward`` on a NumPy forward/backward
    pair; ``check_model`` takes the course's model forward and backward, ``check_function`` a Function class
    and its torch reference in their place. A correct layer has no ``flagged`` rows; a buggy one lists the
    rows the report fails, in report order (a row the report lacks at this dtype, such as the finite
    differences that run in float64 only, is not expected), and ``hint`` holds words of the hint printed
    on the first of them (empty when no hint is expected)."""

    label: str
    forward: Callable
    backward: Callable
    check: Mapping[str, Any]
    flagged: tuple[str, ...] = ()
    hint: str = ""
    checker: Callable[..., ParityReport] = check_backward

    def run(self, **options: Any) -> ParityReport:
        """The report; ``options`` override ``check`` (e.g. dtype, device)."""
        return self.checker(self.forward, self.backward, **{**self.check, "label": self.label, **options})

    def surprises(self, report: ParityReport) -> list[str]:
        """How ``report`` differs from what this case states; empty when it says exactly that."""
        problems = []
        flagged = tuple(d.name for d in report.failures)
        rows = {d.name for d in report.diffs}
        expected = tuple(name for name in self.flagged if name in rows)
        if flagged != expected:
            problems.append(f"{self.label}: flagged {list(flagged)}, expected {list(expected)}")
        elif self.hint and self.hint not in report.failures[0].hint:
            problems.append(f"{self.label}: hint {report.failures[0].hint!r} lacks {self.hint!r}")
        return problems

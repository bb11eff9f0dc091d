"""A layer variant to check, and what the check must say about it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from parity_tests.checker.harness import ParityReport, check_backward


@dataclass(frozen=True)
class Case:
    """``forward``/``backward`` checked with ``check_backward(**check)``. A correct layer has no ``flagged``
    rows; a buggy one lists the rows the report fails, in report order, and ``hint`` holds words of the
    hint printed on the first of them (empty when no hint is expected)."""

    label: str
    forward: Callable
    backward: Callable
    check: Mapping[str, Any]
    flagged: tuple[str, ...] = ()
    hint: str = ""

    def run(self, **options: Any) -> ParityReport:
        """The report; ``options`` override ``check`` (e.g. dtype, device)."""
        return check_backward(self.forward, self.backward, **{**self.check, "label": self.label, **options})

    def surprises(self, report: ParityReport) -> list[str]:
        """How ``report`` differs from what this case states; empty when it says exactly that."""
        problems = []
        flagged = tuple(d.name for d in report.failures)
        if flagged != self.flagged:
            problems.append(f"{self.label}: flagged {list(flagged)}, expected {list(self.flagged)}")
        elif self.hint and self.hint not in report.failures[0].note:
            problems.append(f"{self.label}: hint {report.failures[0].note!r} lacks {self.hint!r}")
        return problems

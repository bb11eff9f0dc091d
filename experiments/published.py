"""A figure the course publishes, kept as the course prints it, and whether a value of ours
reproduces it at that precision.

    "99.04 %"              a percentage: ours, in percent, rounds to 99.04
    "0.584508"             a number printed to 6 decimals: ours rounds to it
    "0.7166666666666667"   a float printed in full: equal to about 10 significant digits (the
                           last digits of a long computation differ between CPUs and BLAS builds)
    ">94.6 %"              a summary table's "> x": ours truncated to the shown digits is x
                           (x <= ours < x + one unit in the last place)

Accuracies are fractions in the metrics (0.9904) and percentages in the course's tables; the
" %" suffix says which. ``Figure.show(ours)`` prints ours at the figure's precision, so the
published and our values line up in a report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

FORM = re.compile(r"^(>)?(-?\d+(?:\.(\d+))?)( %)?$")
FULL_PRECISION_RTOL = 5e-11   # relative: figures printed in full are compared to about 10 significant digits


@dataclass(frozen=True)
class Figure:
    """A published figure: its ``text``, its ``value`` (percentages as fractions), the size of one
    ``unit`` in its last printed place (as a fraction too), and whether the course truncated it."""

    text: str
    value: float
    unit: float
    decimals: int
    percent: bool
    truncated: bool

    def reproduced_by(self, ours: float, slack: float = 0.0) -> bool:
        """Whether ``ours`` prints as this figure (rounded, or truncated for "> x"), or lies within
        ``slack`` (absolute, in the metric's units) of what would."""
        if self.truncated:
            margin = FULL_PRECISION_RTOL * abs(self.value)
            return self.value - margin - slack <= ours < self.value + self.unit - margin + slack
        return abs(ours - self.value) <= (max(self.unit / 2, FULL_PRECISION_RTOL * abs(self.value)) + slack) * (1 + 1e-12)

    def show(self, ours: float | None) -> str:
        """``ours`` at this figure's precision (percent with the same decimals, or the same decimals;
        one decimal more for a truncated figure, so that "> x" can be judged)."""
        if ours is None:
            return ""
        scaled = 100 * ours if self.percent else ours
        return f"{scaled + 0.0:.{self.decimals + self.truncated}f}" + (" %" if self.percent else "")


def parse(text: str) -> Figure:
    """The Figure a published text stands for (a number, as results from before the texts were
    kept, stands for its repr); a text in no form above is a ValueError."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = repr(float(text))
    if not isinstance(text, str):
        raise ValueError(f"a published figure is the text the course prints, got {type(text).__name__} {text!r}")
    match = FORM.match(text.strip())
    if match is None:
        raise ValueError(f"published figure {text!r} must read like '99.04 %', '0.584508' or '>94.6 %'")
    truncated, number, decimals, percent = match.groups()
    scale = Decimal(100) if percent else Decimal(1)
    places = len(decimals or "")
    return Figure(text=text, value=float(Decimal(number) / scale), unit=float(Decimal(1).scaleb(-places) / scale),
                  decimals=places, percent=bool(percent), truncated=bool(truncated))

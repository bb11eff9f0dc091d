"""Plain records both sides return: what a run, a check or a diagnosis found, and nothing that
computes it.

reference_torch may import these (and the input contract, ``contract`` and ``validation``, and
the shared random draws, ``draws``) from scratch_numpy, so that the two sides' results have the
very same fields; each side fills them with its own arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


@dataclass
class History:
    """What a training run records (the same fields on both sides).

    costs, learning_rates: one entry per update (the mini-batch cost before the update,
    L2 term included; the rate the update used). epoch_costs, train_accuracy,
    dev_accuracy: one entry per completed epoch (dev_accuracy empty without dev data).
    stopped_early: the early_stopping hook asked to stop (after epoch epochs_run - 1).
    """

    costs: list = field(default_factory=list)
    learning_rates: list = field(default_factory=list)
    epoch_costs: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    dev_accuracy: list = field(default_factory=list)
    epochs_run: int = 0
    stopped_early: bool = False


@dataclass
class Resume:
    """Where a run stands after its last completed epoch: what continues it, and what a
    checkpoint saves besides the parameters and the optimiser's state.

    history: the History so far; the next epoch is ``history.epochs_run`` and the next update
    ``len(history.costs)``, so epoch and iteration schedules continue at their counts.
    scheduler: the torch side's LambdaLR.state_dict() (JSON-compatible: numbers, lists, None);
    None without a schedule, and always on the NumPy side, whose rates are closed forms of the
    counts.
    """

    history: History
    scheduler: dict | None = None


class Signals(NamedTuple):
    """Per-layer Frobenius norms, index l - 1 for layer l (see the module docstring), each (L,)."""

    activations: np.ndarray
    gradients: np.ndarray
    weight_gradients: np.ndarray


# the course's four cases of a bias/variance diagnosis
HIGH_VARIANCE = "high variance"
HIGH_BIAS = "high bias"
HIGH_BIAS_AND_VARIANCE = "high bias and high variance"
LOW_BIAS_AND_VARIANCE = "low bias and low variance"


@dataclass(frozen=True)
class Diagnosis:
    """The case, the two gaps it was read from, and ``focus`` ("bias" or "variance", the larger gap)."""

    case: str
    avoidable_bias: float
    variance: float
    focus: str
    train_error: float
    dev_error: float
    bayes_error: float

    @property
    def high_bias(self) -> bool:
        return self.case in (HIGH_BIAS, HIGH_BIAS_AND_VARIANCE)

    @property
    def high_variance(self) -> bool:
        return self.case in (HIGH_VARIANCE, HIGH_BIAS_AND_VARIANCE)


class Draws(NamedTuple):
    """One batch's random choices: flip (m,) bool, offsets (m, 2) int64 (top, left) in [0, 2 padding]."""

    flip: np.ndarray
    offsets: np.ndarray


GOOD, CAREFUL = 1e-7, 1e-3  # the course's reading: < 1e-7 good, >= 1e-3 bug, "careful" between


def verdict(difference: float) -> str:
    """"good" (< 1e-7), "careful" (1e-7 to 1e-3: near 1e-5 look at the components) or "bug" (>= 1e-3)."""
    return "good" if difference < GOOD else "careful" if difference < CAREFUL else "bug"


@dataclass(frozen=True)
class ElementError:
    """One element of one gradient tensor: backprop's value, the two-sided one, |difference|."""

    tensor: str
    index: tuple
    analytic: float
    numerical: float
    abs_error: float


@dataclass(frozen=True)
class GradCheckReport:
    """``difference`` over all N parameters and its ``verdict``; ``per_parameter[dW1]`` is the same
    formula on that tensor's elements alone; ``worst`` the elements with the largest |g - g_num|;
    ``analytic[dW1]`` and ``numerical[dW1]`` the two gradients in the parameter's shape."""

    difference: float
    verdict: str
    per_parameter: dict
    worst: tuple
    analytic: dict
    numerical: dict
    epsilon: float

    @property
    def faulty(self) -> tuple:
        """The gradient tensors whose own difference reads "bug" (>= 1e-3), in parameter order."""
        return tuple(name for name, d in self.per_parameter.items() if verdict(d) == "bug")

    def __str__(self) -> str:
        size = sum(np.size(g) for g in self.analytic.values())
        lines = [f"gradient check: difference {self.difference:.2e} ({self.verdict}) over {size} parameters, "
                 f"epsilon {self.epsilon:g}", f"  {'tensor':<10}{'difference':>12}  verdict"]
        lines += [f"  {name:<10}{d:>12.2e}  {verdict(d)}" for name, d in self.per_parameter.items()]
        lines.append("  worst elements (tensor[index]: backprop vs two-sided):")
        lines += [f"  {e.tensor}{list(e.index)}: {e.analytic:.10g} vs {e.numerical:.10g} (|diff| {e.abs_error:.2e})"
                  for e in self.worst]
        return "\n".join(lines)


@dataclass(frozen=True)
class Slope:
    """Slope of J along one unit direction: backprop's g . d, the two-sided one, their relative difference."""

    analytic: float
    numerical: float
    difference: float   # |analytic - numerical| / (|analytic| + |numerical|), 0 when both are 0

    @property
    def verdict(self) -> str:
        return verdict(self.difference)


@dataclass(frozen=True)
class DirectionalReport:
    """``overall``: along d over all tensors; ``per_parameter[dW1]``: along d restricted to W1 (normalised)."""

    overall: Slope
    per_parameter: dict
    epsilon: float

    @property
    def faulty(self) -> tuple:
        """The tensors along whose own direction the slopes differ by "bug" (>= 1e-3)."""
        return tuple(name for name, s in self.per_parameter.items() if s.verdict == "bug")

    def __str__(self) -> str:
        lines = [f"directional check (epsilon {self.epsilon:g}): difference {self.overall.difference:.2e} "
                 f"({self.overall.verdict}), slope {self.overall.analytic:.10g} vs {self.overall.numerical:.10g}"]
        lines += [f"  along {name}: {s.difference:.2e} ({s.verdict}), {s.analytic:.10g} vs {s.numerical:.10g}"
                  for name, s in self.per_parameter.items()]
        return "\n".join(lines)

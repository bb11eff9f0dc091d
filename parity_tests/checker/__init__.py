"""The backward-pass checker: the reusable tool, apart from the project's own tests.

    from parity_tests.checker import check_backward      # in code or a test
    python -m parity_tests.checker FILE.py:FORWARD,BACKWARD --inputs NAME=SHAPE ...   # the command line
    from parity_tests.checker import check_optimizer     # an update rule over K steps
    python -m parity_tests.checker.optimizer_cli FILE.py:NAME --rule adam --lr 0.01 ...

``harness`` runs a user's NumPy forward/backward pair against autograd and finite differences,
``comparison`` holds the tolerances and the per-tensor report, ``hints`` names the classic slips
behind a mismatch, ``cli`` is the command line. ``optimizer`` runs a user's update rule against the
project's rules and torch.optim (``optimizer_run``: the gradient stream, the contenders and their
trajectories), ``optimizer_hints`` names the classic convention slips, ``optimizer_cli`` is its command
line; ``divergence`` finds the first step, tensor and element where two trajectories part.
"""

from .comparison import TOLERANCES, ParityReport, TensorDiff, Tolerance, compare
from .divergence import GROWTH, Divergence, Growth, Recorded, first_divergence
from .harness import Mask, Noise, assert_backward, check_backward
from .function import check_function
from .model import ModelReport, check_model
from .optimizer import OptimizerReport, assert_optimizer, check_optimizer

__all__ = ["TOLERANCES", "Mask", "Noise", "ParityReport", "TensorDiff", "Tolerance", "assert_backward",
           "check_backward", "check_function", "check_model", "ModelReport", "compare",
           "OptimizerReport", "assert_optimizer", "check_optimizer",
           "GROWTH", "Divergence", "Growth", "Recorded", "first_divergence"]

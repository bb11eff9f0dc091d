"""The backward-pass checker: the reusable tool, apart from the project's own tests.

    from parity_tests.checker import check_backward      # in code or a test
    python -m parity_tests.checker FILE.py:FORWARD,BACKWARD --inputs NAME=SHAPE ...   # the command line

``harness`` runs a user's NumPy forward/backward pair against autograd and finite differences,
``comparison`` holds the tolerances and the per-tensor report, ``hints`` names the classic slips
behind a mismatch, ``cli`` is the command line.
"""

from .comparison import TOLERANCES, ParityReport, TensorDiff, Tolerance, compare
from .harness import Mask, Noise, assert_backward, check_backward
from .function import check_function
from .model import ModelReport, check_model

__all__ = ["TOLERANCES", "Mask", "Noise", "ParityReport", "TensorDiff", "Tolerance", "assert_backward",
           "check_backward", "check_function", "check_model", "ModelReport", "compare"]

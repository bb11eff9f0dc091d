"""A user's own test file, checked by the Twinprop pytest plugin.

With twinprop installed (``pip install .``), pytest loads the plugin by itself: the fixture ``check_layer``
needs no import and no conftest.py. From a source checkout without installing, run
``pytest -p parity_tests.checker.pytest_plugin examples/pytest_plugin_example``. CI runs this folder,
copied out of the repository, against the installed package (scripts/package_check.sh).
"""

import pytest

from my_layers import (linear_backward, linear_forward, relu_backward, relu_backward_strict_mask, relu_forward,
                       sigmoid_backward, sigmoid_forward)
from parity_tests.checker.pytest_plugin import layer_case, parametrize_layers


# The three lines: a layer checked against a torch expression, autograd and the kink probe included.
def test_my_relu(check_layer):
    check_layer(relu_forward, relu_backward, inputs={"Z": (4, 6)}, against="torch.relu(Z)")


# Several layers, one test each (ids: relu_forward, sigmoid, linear).
@parametrize_layers(
    layer_case(relu_forward, relu_backward, inputs={"Z": (4, 6)}, against="torch.relu(Z)"),
    layer_case(sigmoid_forward, sigmoid_backward, inputs={"Z": "4x6"}, against="torch.sigmoid(Z)", id="sigmoid"),
    layer_case(linear_forward, linear_backward, inputs={"A_prev": (4, 8)}, params={"W": (3, 4), "b": (3, 1)},
               against="W @ A_prev + b", grad_convention="course", id="linear"),
)
def test_my_layers(check_layer, layer):
    check_layer(layer)


# A bug fails the test with the checker's per-tensor report as the message.
def test_a_slip_fails_with_the_report(check_layer):
    with pytest.raises(AssertionError, match=r"dZ \(at kinks\)") as failure:
        check_layer(relu_forward, relu_backward_strict_mask, inputs={"Z": (4, 6)}, against="torch.relu(Z)")
    assert "FAIL" in str(failure.value)

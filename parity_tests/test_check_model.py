"""check_model: a whole network in the course's layout against reference_torch.models.Network; the report
names the first layer, counting from the output, whose gradient is wrong (examples/model.py holds the
networks)."""

import pytest

from examples.model import (L_LAYER, SHALLOW, L_model_backward, L_model_forward, project_model,
                            shallow_backward, shallow_backward_db2_missing_1_over_m, shallow_forward)
from parity_tests.checker import ModelReport, check_model


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_course_l_layer_model_passes_every_row(dtype, device):
    report = check_model(L_model_forward, L_model_backward, **L_LAYER, dtype=dtype, device=device)
    assert isinstance(report, ModelReport) and report.passed, str(report)
    assert [d.name for d in report.diffs] == ["A_L", "dW3", "db3", "dA2", "dW2", "db2", "dA1", "dW1", "db1", "dA0"]
    assert report.first_wrong_layer is None and "every layer's gradients agree" in str(report)


def test_a_wrong_db2_is_named_as_layer_2_with_its_hint():
    report = check_model(shallow_forward, shallow_backward_db2_missing_1_over_m, **SHALLOW)
    assert [d.name for d in report.failures] == ["db2"]
    assert report.first_wrong_layer == 2
    assert "the 1/m is missing" in report.failures[0].hint
    assert "first wrong layer, counting from the output: layer 2 (db2)" in str(report)


def l_model_backward_dA1_doubled(AL, Y, caches):
    """Layer 2 of 3 forms dA1 = 2 W2^T dZ2 (its W doubled in the cache): its own dW2, db2 stay right,
    every gradient below it goes wrong."""
    A_prev, W, Z = caches[1]
    return L_model_backward(AL, Y, [caches[0], (A_prev, 2 * W, Z), caches[2]])


def test_the_first_wrong_layer_counts_from_the_output():
    report = check_model(L_model_forward, l_model_backward_dA1_doubled, **L_LAYER)
    assert [d.name for d in report.failures] == ["dA1", "dW1", "db1", "dA0"]
    assert report.first_wrong_layer == 2
    assert "layer 3 agrees, so look in layer 2's backward" in str(report)


def test_without_dA_rows_the_wrong_layer_is_the_one_whose_parameters_differ():
    def without_dA(AL, Y, caches):
        return {k: v for k, v in l_model_backward_dA1_doubled(AL, Y, caches).items() if not k.startswith("dA")}

    report = check_model(L_model_forward, without_dA, **L_LAYER)
    assert [d.name for d in report.failures] == ["dW1", "db1"] and report.first_wrong_layer == 1


def test_a_wrong_forward_is_reported_first():
    def forward_without_b(X, parameters):
        return L_model_forward(X, {k: 0 * v if k.startswith("b") else v for k, v in parameters.items()})

    report = check_model(forward_without_b, L_model_backward, **L_LAYER)
    assert report.failures[0].name == "A_L"
    assert "the forward pass is wrong" in str(report)


@pytest.mark.parametrize("layer_dims, hidden, output", [((6, 5, 4), "relu", "softmax"),
                                                        ((4, 5, 3), "leaky_relu", "linear"),
                                                        ((3, 4, 1), "tanh", "sigmoid")])
def test_the_project_network_passes(layer_dims, hidden, output):
    report = check_model(*project_model(layer_dims, hidden, output), layer_dims, hidden, output)
    assert report.passed, str(report)
    assert check_model(shallow_forward, shallow_backward, **SHALLOW).passed


def test_missing_gradients_are_refused():
    def no_db1(AL, Y, caches):
        return {k: v for k, v in L_model_backward(AL, Y, caches).items() if k != "db1"}

    with pytest.raises(ValueError, match="db1"):
        check_model(L_model_forward, no_db1, **L_LAYER)


def shallow_forward_overwriting_X(X, parameters):
    """Correct, then wipes its input (a buffer reused by the caller): the reference must not see zeros."""
    A2, cache = shallow_forward(X.copy(), parameters)
    X[...] = 0.0
    return A2, cache


def shallow_backward_clipping_A2_in_place(A2, Y, cache):
    """Correct gradients, then A2 written in place (a course habit: np.clip(AL, eps, 1 - eps, out=AL))."""
    grads = shallow_backward(A2, Y, cache)
    A2[...] = 0.5
    return grads


@pytest.mark.parametrize("forward, backward, written", [
    (shallow_forward_overwriting_X, shallow_backward, "X"),
    (shallow_forward, shallow_backward_clipping_A2_in_place, None),
], ids=["forward writes into X", "backward writes into AL"])
def test_code_that_writes_into_its_arguments_is_checked_on_copies(forward, backward, written):
    """Before the copies, both failed: the torch side ran on the zeroed X, and A_L was read after backward."""
    report = check_model(forward, backward, **SHALLOW)
    assert report.passed, str(report)
    assert [w for w in report.warnings if "wrote into X" in w] == (
        ["your code wrote into X: it was given a copy, so the check is unaffected; a caller that reuses X would "
         "see the change"] if written else [])

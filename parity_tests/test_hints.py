"""Hints: each bug signature is named when its pattern holds on the whole tensor, and only then."""

import numpy as np
import pytest

from .checker.comparison import compare
from .checker.hints import Evidence, hint, shape_hint

# A (3, 8) layer output with examples in columns: m = 8.
COLUMNS = Evidence(out_shape=(3, 8), batch_axis=1)


def rng_array(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def everywhere(a):
    return np.ones(a.shape, dtype=bool)


# --- same shapes -----------------------------------------------------------------------------------

def test_mismatches_only_at_kinks():
    expected = rng_array((4, 5))
    at_kink = np.zeros((4, 5), dtype=bool)
    at_kink.flat[::3] = True
    failing = at_kink & (np.arange(20).reshape(4, 5) % 2 == 0)  # some kink entries fail, none elsewhere
    evidence = Evidence(kink_mask=at_kink, kink_input="Z")
    text = hint(expected + failing, expected, failing, evidence)
    assert text.startswith(f"mismatches only where Z is exactly at a kink ({failing.sum()} of 7 such entries)")
    assert "< instead of <=" in text


def test_no_kink_hint_when_a_mismatch_is_off_the_kinks():
    expected = rng_array((4, 5))
    at_kink = np.zeros((4, 5), dtype=bool)
    at_kink[0, 0] = True
    failing = at_kink.copy()
    failing[3, 4] = True
    assert hint(expected + failing, expected, failing, Evidence(kink_mask=at_kink, kink_input="Z")) == ""


def test_transposed_square():
    b = rng_array((4, 4))
    assert hint(b.T, b, everywhere(b)) == "actual matches expected transposed"


@pytest.mark.parametrize("expected", [np.array([[-3.0335e-05]]), np.array([[1.0, 2.0], [2.0, 5.0]])],
                         ids=["1x1", "symmetric"])
def test_no_transposed_hint_for_an_expected_that_is_its_own_transpose(expected):
    """A 1 x 1 or symmetric expected equals its transpose: a near miss is not "transposed"."""
    actual = expected * (1 + 4e-4)
    assert hint(actual, expected, everywhere(expected), slack=1e-3) != "actual matches expected transposed"


def test_sign_flip():
    b = rng_array((3, 4))
    assert hint(-b, b, everywhere(b)) == "sign flipped: actual = -expected everywhere"


def test_no_sign_hint_when_only_some_signs_flip():
    b = rng_array((3, 4))
    a = b.copy()
    a[0] *= -1
    assert hint(a, b, everywhere(b), COLUMNS) == ""


def test_missing_and_extra_one_over_m():
    b = rng_array((3, 4))
    assert "(m = 8, the batch size): the 1/m is missing" in hint(8 * b, b, everywhere(b), COLUMNS)
    assert "an extra 1/m" in hint(b / 8, b, everywhere(b), COLUMNS)
    # Without knowing m, a factor 8 is only a factor.
    assert hint(8 * b, b, everywhere(b)) == "actual = 8 x expected everywhere: a convention factor such as 1/m?"


def test_missing_one_over_keep_prob_on_kept_units():
    mask = rng_array((3, 4), seed=1) > -0.5
    b = rng_array((3, 4)) * mask / 0.8  # inverted dropout: zeros where dropped
    a = b * 0.8
    failing = mask
    text = hint(a, b, failing, Evidence(keep_prob=0.8))
    assert text.startswith("actual = 0.8 x expected = keep_prob x expected on the kept units")
    assert "1/keep_prob" not in hint(a, b, failing)  # no mask drawn: just a factor


def test_no_factor_hint_when_the_factor_holds_on_part_of_the_tensor():
    b = rng_array((3, 4))
    a = b.copy()
    a[:, :2] *= 8
    assert hint(a, b, everywhere(b), COLUMNS) == ""


def test_no_generic_factor_for_a_single_number():
    b = np.array([[0.3]])
    assert hint(b * 2.5, b, everywhere(b)) == ""  # any two numbers are proportional
    assert "the 1/m is missing" in hint(b * 8, b, everywhere(b), COLUMNS)


def test_one_column_of_the_per_example_gradient():
    per_example = rng_array((3, 8))
    b = per_example.sum(axis=1, keepdims=True)
    evidence = Evidence((3, 8), 1, per_example=lambda: per_example)
    text = hint(per_example[:, [7]], b, everywhere(b), evidence)
    assert text.startswith("actual = column 7 of the per-example gradient: the sum over the batch axis (axis 1)")
    assert hint(8 * per_example[:, [2]], b, everywhere(b), evidence).startswith("actual = 8 x column 2")
    assert hint(per_example[:, [7]] + 0.1, b, everywhere(b), evidence) == ""
    # An oracle that cannot give per-example gradients gives no hint.
    assert hint(per_example[:, [7]], b, everywhere(b), Evidence((3, 8), 1, per_example=lambda: None)) == ""


# --- different shapes ------------------------------------------------------------------------------

def test_transposed_rectangle():
    b = rng_array((3, 4))
    assert shape_hint(b.T, b) == "actual matches expected transposed"


def test_batch_axis_not_summed():
    dZ = rng_array((3, 8))
    db = dZ.sum(axis=1, keepdims=True) / 8
    assert shape_hint(dZ / 8, db, COLUMNS) == ("the sum over the batch axis (axis 1) is missing: "
                                               "actual summed over it equals expected")
    assert shape_hint(dZ, db, COLUMNS).endswith("equals 8 x expected")
    assert shape_hint(dZ + 1, db, COLUMNS).endswith("that expected sums away: a missing sum?")
    assert shape_hint(dZ / 8, db) == ""  # without a batch axis there is nothing to say


def test_wrong_reduction_axis():
    per_example = rng_array((3, 8))
    expected = per_example.sum(axis=1, keepdims=True)
    wrong = per_example.sum(axis=0, keepdims=True)
    assert shape_hint(wrong, expected, COLUMNS).endswith("summed over the wrong axis?")
    assert shape_hint(wrong[0], expected, COLUMNS).endswith("summed over the wrong axis?")  # no keepdims
    verified = Evidence((3, 8), 1, per_example=lambda: per_example)
    assert shape_hint(wrong, expected, verified) == ("actual = the per-example gradient summed over axis 0: "
                                                     "the sum must run over the batch axis 1")
    assert shape_hint(wrong + 1, expected, verified) == ""  # the values contradict the shape


def test_keepdims():
    b = rng_array((3, 1))
    assert shape_hint(b[:, 0], b) == "same values: a missing keepdims or reshape"
    assert shape_hint(b[:, 0] + 1, b) == "same size: a missing keepdims or reshape?"
    assert shape_hint(rng_array((5,)), b) == ""


def test_evidence_batch_size():
    assert COLUMNS.batch_size == 8
    assert Evidence().batch_size is None


# --- through compare -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compare_words_the_hint_with_evidence(dtype):
    b = rng_array((3, 4)).astype(dtype)
    report = compare({"dW": b * 8}, {"dW": b}, evidence={"dW": COLUMNS})
    assert "the 1/m is missing" in report.failures[0].hint
    assert compare({"dW": b}, {"dW": b}, evidence={"dW": COLUMNS}).passed  # evidence never changes a verdict


# --- gradients swapped with each other --------------------------------------------------------------

def test_swapped_with_another_expected_gradient():
    dx, dW = rng_array((4, 4), seed=1), rng_array((4, 4), seed=2)
    text = hint(dW, dx, everywhere(dx), Evidence(others={"dW": dW, "db": rng_array((4, 1), seed=3)}))
    assert text.startswith("actual = expected dW: swapped with dW")
    assert shape_hint(dW, rng_array((4, 6)), Evidence(others={"dW": dW})).startswith("actual = expected dW")


def test_no_swapped_hint_for_zeros_or_an_unrelated_tensor():
    b = rng_array((3, 4))
    assert hint(np.zeros((3, 4)), b, everywhere(b), Evidence(others={"dW": np.zeros((3, 4))})) == ""
    assert "swapped" not in hint(-b, b, everywhere(b), Evidence(others={"dW": rng_array((3, 4), seed=5)}))


def _matmul_forward(x, W):
    return W @ x, (x, W)


def _matmul_oracle(x, W):
    return W @ x


@pytest.mark.parametrize("shapes", [{"x": (4, 4), "W": (4, 4)}, {"x": (4, 6), "W": (3, 4)}],
                         ids=["same shapes", "different shapes"])
def test_check_backward_names_a_planted_swap_and_stays_silent_on_correct_code(shapes):
    from .checker.harness import check_backward

    def backward(dout, cache):
        x, W = cache
        return W.T @ dout, dout @ x.T

    def backward_swapped(dout, cache):  # bug: (dW, dx) where (dx, dW) is expected
        dx, dW = backward(dout, cache)
        return dW, dx

    correct = check_backward(_matmul_forward, backward, _matmul_oracle, inputs=shapes)
    assert correct.passed and not any(d.hint or d.note for d in correct.diffs)
    report = check_backward(_matmul_forward, backward_swapped, _matmul_oracle, inputs=shapes)
    assert [(d.tensor, d.hint.split(" (")[0]) for d in report.failures] == [
        ("dx", "actual = expected dW: swapped with dW"), ("dW", "actual = expected dx: swapped with dx")]

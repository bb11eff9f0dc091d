"""Bias/variance diagnosis: the course's examples, its human-level-error advice, and the same
errors measured by a NumPy network and its torch twin."""

import pytest

from parity_tests import twins
from scratch_numpy import diagnosis


@pytest.mark.parametrize("train, dev, bayes, case, bias, variance", [
    (0.01, 0.11, 0.0, diagnosis.HIGH_VARIANCE, 0.01, 0.10),
    (0.15, 0.16, 0.0, diagnosis.HIGH_BIAS, 0.15, 0.01),
    (0.15, 0.30, 0.0, diagnosis.HIGH_BIAS_AND_VARIANCE, 0.15, 0.15),
    (0.005, 0.01, 0.0, diagnosis.LOW_BIAS_AND_VARIANCE, 0.005, 0.005),
    (0.15, 0.16, 0.15, diagnosis.LOW_BIAS_AND_VARIANCE, 0.0, 0.01),
], ids=["1/11", "15/16", "15/30", "0.5/1", "15/16 with Bayes 15"])
def test_the_course_examples(train, dev, bayes, case, bias, variance):
    found = diagnosis.diagnose(train, dev, bayes)
    assert found.case == case
    assert found.avoidable_bias == pytest.approx(bias, abs=1e-15)
    assert found.variance == pytest.approx(variance, abs=1e-15)
    assert found.high_bias == (case in (diagnosis.HIGH_BIAS, diagnosis.HIGH_BIAS_AND_VARIANCE))
    assert found.high_variance == (case in (diagnosis.HIGH_VARIANCE, diagnosis.HIGH_BIAS_AND_VARIANCE))


@pytest.mark.parametrize("human, focus", [(0.01, "bias"), (0.075, "variance"), (0.005, "bias")])
def test_human_level_error_decides_the_focus(human, focus):
    """Course 3: train 8 %, dev 10 %; human 1 % -> work on bias (7 % vs 2 %), 7.5 % -> variance."""
    assert diagnosis.diagnose(0.08, 0.10, human).focus == focus


def test_threshold_moves_the_line():
    assert diagnosis.diagnose(0.01, 0.04, threshold=0.02).case == diagnosis.HIGH_VARIANCE
    assert diagnosis.diagnose(0.01, 0.04, threshold=0.05).case == diagnosis.LOW_BIAS_AND_VARIANCE


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_parity_of_measured_errors(dtype, device):
    twins.diagnosis.diagnosis(dtype=dtype, device=device).assert_passed()


@pytest.mark.parametrize("kwargs, match", [
    ({"train_error": 11, "dev_error": 0.2}, r"train_error must be an error rate in \[0, 1\] \(0.15 for 15 %\)"),
    ({"train_error": 0.1, "dev_error": float("nan")}, "dev_error"),
    ({"train_error": 0.1, "dev_error": 0.2, "bayes_error": -0.01}, "bayes_error"),
    ({"train_error": True, "dev_error": 0.2}, "train_error"),
    ({"train_error": 0.1, "dev_error": 0.2, "threshold": -1}, "threshold"),
])
def test_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diagnosis.diagnose(**kwargs)

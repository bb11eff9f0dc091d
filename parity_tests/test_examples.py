"""The examples/ cases run as tests: every correct layer passes (the project's own included), every classic
bug is flagged on the stated tensor with the stated hint, on the CPU and, when present, on CUDA."""

from dataclasses import replace

import pytest

from examples import all_cases
from examples.__main__ import main

CASES = all_cases()
CORRECT = [case for case in CASES if not case.flagged]

# The classic bugs, and the case that must catch each one.
CLASSIC_BUGS = {
    "missing 1/m": "linear: missing 1/m",
    "wrong transpose": "linear: transposed dW",
    "< vs <= in the ReLU mask": "relu: < instead of <= in the mask",
    "missing sum over the batch axis in db": "linear: db not summed",
    "dropout without the 1/keep_prob scale": "dropout: no 1/keep_prob",
    "batch-norm dgamma summed over the wrong axis": "batch norm: dgamma over the wrong axis",
    "sign error in the softmax gradient": "softmax cross-entropy: sign error",
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.label)
def test_case_reports_as_stated(case, dtype, device):
    report = case.run(dtype=dtype, device=device)
    assert case.surprises(report) == [], str(report)


@pytest.mark.parametrize("bug", CLASSIC_BUGS)
def test_classic_bug_is_named_with_a_hint(bug):
    (case,) = [case for case in CASES if case.label == CLASSIC_BUGS[bug]]
    report = case.run()
    assert case.flagged and case.hint, "every classic bug states the tensor and the hint"
    assert [d.name for d in report.failures] == list(case.flagged)
    text = str(report)
    assert case.flagged[0] in text and case.hint in text


def test_every_project_layer_is_covered():
    from scratch_numpy import activations

    labels = {case.label for case in CORRECT}
    assert {f"scratch_numpy.activations {name}" for name in activations.NAMES} <= labels
    assert {"scratch_numpy.layers linear", "scratch_numpy.dropout, train", "scratch_numpy.dropout, eval",
            "scratch_numpy.batchnorm, train", "scratch_numpy.batchnorm, eval"} <= labels


def test_python_m_examples_prints_every_report(capsys):
    assert main() == 0
    printed = capsys.readouterr().out
    assert printed.count("parity: ") == len(CASES)
    assert printed.rstrip().endswith("every case reported as stated")


def test_a_case_that_states_the_wrong_thing_is_a_surprise():
    case = next(case for case in CASES if case.label == "linear: missing 1/m")
    report = case.run()
    assert case.surprises(report) == []
    assert replace(case, flagged=()).surprises(report) == ["linear: missing 1/m: flagged ['dW'], expected []"]
    assert "lacks 'transposed'" in replace(case, hint="transposed").surprises(report)[0]

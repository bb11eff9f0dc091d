"""The backward-pass checker: check_backward's report details, kink probe, injected randomness, modes and
state; the command line (python -m parity_tests.checker); the README section's examples."""

import contextlib
import io
import shlex
import subprocess
import sys

import numpy as np
import pytest
import torch

from examples import batchnorm, dropout, linear, relu, softmax

from .checker.cli import main
from .conftest import REPO
from .checker.harness import Domain, Mask, Noise, assert_backward, check_backward, compare

LINEAR = dict(inputs={"A_prev": (4, 8)}, params={"W": (3, 4), "b": (3, 1)}, grad_convention="course")


# --- the report -------------------------------------------------------------------------------------

def test_worst_elements_are_listed_worst_first():
    expected = np.full((4, 5), 3.0)
    actual = expected.copy()
    bad = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 0), (3, 0), (2, 2)]
    for k, index in enumerate(bad):
        actual[index] += 1e-6 * (k + 1)  # the error grows along the list
    (diff,) = compare({"dW": actual}, {"dW": expected}).failures
    assert diff.failed == 7
    assert [index for index, _, _ in diff.worst_elements] == bad[::-1][:5]
    assert all((a, b) == (actual[i], expected[i]) for i, a, b in diff.worst_elements)
    text = str(compare({"dW": actual}, {"dW": expected}))
    assert "dW: 7 of 20 elements outside tolerance, worst first:" in text
    assert repr(float(actual[2, 2])) in text and repr(float(expected[2, 2])) in text


def test_assert_backward_raises_with_the_report():
    with pytest.raises(AssertionError) as error:
        assert_backward(linear.forward, linear.backward_missing_1_over_m, linear.torch_linear, **LINEAR)
    message = str(error.value)
    assert "FAIL" in message and "the 1/m is missing" in message and "worst first" in message
    report = assert_backward(linear.forward, linear.backward, linear.torch_linear, **LINEAR)
    assert report.passed and [d.name for d in report.diffs] == ["out", "dA_prev", "dW", "db"]


def test_per_example_gradient_confirms_the_wrong_axis():
    """An oracle written with broadcasting ops can be called with gamma widened to (n, m): the hint then
    checks the values of the wrong-axis sum, not only its shape (F.batch_norm refuses a widened gamma)."""
    def forward(x, gamma, beta):  # the example layer, its running statistics thrown away
        return batchnorm.forward(x, gamma, beta, {"running_mean": 0.0, "running_var": 1.0}, "train")

    def torch_ops(x, gamma, beta):
        mu, var = x.mean(dim=1, keepdim=True), x.var(dim=1, unbiased=False, keepdim=True)
        return gamma * (x - mu) / torch.sqrt(var + batchnorm.EPS) + beta

    report = check_backward(forward, batchnorm.backward_dgamma_wrong_axis, torch_ops, inputs={"x": (4, 6)},
                            params={"gamma": (4, 1), "beta": (4, 1)})
    (diff,) = report.failures
    assert (diff.name, diff.check, diff.note) == ("dgamma", "oracle", "shape (1, 6) vs (4, 1)")
    assert diff.hint == "actual = the per-example gradient summed over axis 0: the sum must run over the batch axis 1"


# --- the kink probe ---------------------------------------------------------------------------------

def test_kink_probe_adds_marked_rows_and_a_note_without_changing_the_main_pass():
    plain = check_backward(relu.forward, relu.backward_strict_mask, relu.torch_relu, inputs={"Z": (4, 6)})
    probed = check_backward(relu.forward, relu.backward_strict_mask, relu.torch_relu, inputs={"Z": (4, 6)},
                            probe_kinks=True)
    assert plain.passed  # random inputs never hit 0 exactly
    assert [d.name for d in probed.diffs] == ["out", "dZ", "out (at kinks)", "dZ (at kinks)"]
    assert probed.diffs[:2] == plain.diffs
    (diff,) = probed.failures
    assert diff.expected_value == 0.0 and diff.failed >= 1
    assert probed.notes == ["rows marked (at kinks): a second pass with 9 of the 24 entries of Z set exactly "
                            "at the kinks [0.0]; there the oracle's derivative is the reference"]


def test_kink_probe_cycles_through_several_kinks():
    def hinge_forward(s):
        return np.maximum(0, s - 1), s

    def hinge_backward(dout, s):
        return dout * (s > 1)

    report = check_backward(hinge_forward, hinge_backward, lambda s: torch.relu(s - 1), inputs={"s": (6, 8)},
                            kinks=(0.0, 1.0), probe_kinks=True)
    report.assert_passed()
    assert "at the kinks [0.0, 1.0]" in report.notes[0]


@pytest.mark.parametrize("options", [
    dict(oracle=None),
    dict(oracle=relu.torch_relu, kinks=()),
    dict(oracle=relu.torch_relu, values={"Z": np.zeros((4, 6))}),
], ids=["no oracle", "no kinks", "every input given"])
def test_kink_probe_needs_an_oracle_a_kink_and_an_input(options):
    with pytest.raises(ValueError, match="probe_kinks needs"):
        check_backward(relu.forward, relu.backward, inputs={"Z": (4, 6)}, probe_kinks=True, **options)


# --- randomness, mode, state ------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [Mask((5, 7), keep_prob=0.6), Noise((5, 7), std=0.5)], ids=["mask", "noise"])
def test_random_draws_reach_both_sides_identically(spec):
    seen = {}

    def forward(A, R):
        seen["numpy"] = R
        return A * R, R

    def oracle(A, R):
        seen["torch"] = R
        return A * R

    report = check_backward(forward, lambda dout, R: dout * R, oracle, inputs={"A": (5, 7)}, random={"R": spec},
                            finite_differences=True)
    report.assert_passed()
    assert seen["numpy"].dtype == np.float64 and np.array_equal(seen["numpy"], seen["torch"].numpy())
    if isinstance(spec, Mask):
        assert set(np.unique(seen["numpy"])) == {0.0, 1.0}


@pytest.mark.parametrize("keep_prob", [0.0, 1.5])
def test_mask_keep_prob_must_be_a_probability(keep_prob):
    with pytest.raises(ValueError, match="keep_prob must be in"):
        Mask((2, 2), keep_prob)


def test_eval_mode_reaches_both_sides_and_mode_is_checked():
    dropout.CASES[1].run().assert_passed()  # eval: both sides return A unchanged, whatever the mask
    with pytest.raises(ValueError, match="mode must be one of"):
        dropout.CASES[1].run(mode="test")
    with pytest.raises(ValueError, match="distinct names"):
        check_backward(lambda mode: None, None, inputs={"mode": (2,)}, mode="train")


def test_state_is_fresh_for_every_call():
    """Finite differences and the kink probe call forward many times; each call starts from the initial state,
    so the state after the step is the same on both sides."""
    def forward(x, state):
        state["calls"] = state["calls"] + 1
        return 2 * x, None

    def oracle(x, state):
        state["calls"] += 1  # in place, as F.batch_norm updates its buffers
        return 2 * x

    report = check_backward(forward, lambda dout, cache: 2 * dout, oracle, inputs={"x": (3, 2)},
                            state={"calls": np.zeros(1)}, finite_differences=True, probe_kinks=True)
    report.assert_passed()
    assert [d.name for d in report.diffs if "calls" in d.name] == ["calls after step", "calls after step (at kinks)"]


def test_state_keys_must_agree():
    def forward(x, state):
        state["extra"] = x.sum()
        return x, None

    with pytest.raises(ValueError, match="extra in actual: \\['extra after step'\\]"):
        check_backward(forward, lambda dout, cache: dout, lambda x, state: x, inputs={"x": (2, 2)},
                       state={"running_mean": np.zeros((2, 1))})


def test_batchnorm_running_statistics_in_both_modes():
    train = batchnorm.CASES[0].run()
    after = {d.name: d for d in train.diffs if "after step" in d.name}
    assert set(after) == {"running_mean after step", "running_var after step"}
    assert all(d.passed and d.max_abs < 1e-15 for d in after.values())
    batchnorm.CASES[1].run(finite_differences=True).assert_passed()  # eval: out depends on the running stats


# --- the command line -------------------------------------------------------------------------------

LINEAR_ARGS = ["--inputs", "A_prev=4x8", "--params", "W=3x4,b=3x1", "--against", "W @ A_prev + b",
               "--convention", "course"]


def test_cli_exit_status_in_subprocesses():
    """0 on agreement, 1 on a mismatch (with the report), 2 on a usage error (with a message). The three
    processes run at once: importing torch dominates their time."""
    runs = {
        0: ["examples/linear.py:forward,backward", *LINEAR_ARGS],
        1: ["examples/linear.py:forward,backward_missing_1_over_m", *LINEAR_ARGS],
        2: ["examples/no_such_file.py:forward,backward", "--inputs", "x=2x2"],
    }
    processes = {status: subprocess.Popen([sys.executable, "-m", "parity_tests.checker", *args], cwd=REPO,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for status, args in runs.items()}
    results = {status: (p.wait(timeout=120), *p.communicate()) for status, p in processes.items()}
    assert {status: result[0] for status, result in results.items()} == {0: 0, 1: 1, 2: 2}, results
    assert "0 of 8 tensors failed" in results[0][1]  # 4 rows, then 4 from the kink probe
    assert "dW" in results[1][1] and "the 1/m is missing" in results[1][1]
    assert "no such file: examples/no_such_file.py" in results[2][2] and results[2][1] == ""


@pytest.fixture
def run_main(monkeypatch):
    """main() in this process: (exit status, stdout, stderr). Loading a file puts its folder on sys.path."""
    monkeypatch.setattr(sys, "path", list(sys.path))

    def run(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(list(args))
            except SystemExit as exit:  # argparse's usage errors
                status = exit.code
        return status, out.getvalue(), err.getvalue()
    return run


@pytest.mark.parametrize("args, message", [
    (["examples/linear.py:forward", "--inputs", "A_prev=4x8"], "must be FILE.py:FORWARD,BACKWARD"),
    (["examples/linear.py:forward,nope", "--inputs", "A_prev=4x8"], "has no function 'nope'"),
    (["examples.nope:forward,backward", "--inputs", "A_prev=4x8"], "ModuleNotFoundError"),
    (["examples/linear.py:forward,backward", "--inputs", "A_prev=4by8"], "bad shape '4by8'"),
    (["examples/linear.py:forward,backward", "--inputs", "A_prev=4x8,A_prev=4x8"], "'A_prev' is given twice"),
    (["examples/linear.py:forward,backward"], "give the arrays to differentiate"),
    (["examples/linear.py:forward,backward", *LINEAR_ARGS, "--against", "W @"], "--against: invalid syntax"),
    (["examples/dropout.py:forward,backward", "--inputs", "A=4x6", "--mask", "D=4x6:1.5"],
     "keep_prob must be in (0, 1]"),
    (["examples/softmax.py:forward,backward", "--inputs", "scores=3x6", "--fixed", "y=[[0,"], "is not FILE.npy"),
    (["examples/softmax.py:forward,backward", "--inputs", "scores=3x6", "--fixed", "y=missing.npy"],
     "cannot read missing.npy"),
    (["examples/dropout.py:forward,backward", "--inputs", "A=4x6", "--fixed", "keep_prob=0.8", "--fixed",
      "keep_prob=0.5"], "--fixed: 'keep_prob' is given twice"),
], ids=["target", "function", "module", "shape", "twice", "no arrays", "expression", "mask", "literal", "npy",
        "fixed twice"])
def test_cli_usage_errors_exit_2_with_a_message(run_main, args, message):
    status, out, err = run_main(*args)
    assert status == 2 and out == ""
    assert message in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cli_cuda_without_a_gpu_is_a_usage_error(run_main):
    status, _, err = run_main("examples/linear.py:forward,backward", *LINEAR_ARGS, "--device", "cuda")
    assert status == 2 and "torch.cuda.is_available() is False" in err


def test_cli_exit_2_when_the_code_under_test_raises(run_main):
    status, out, err = run_main("examples/linear.py:forward,backward", "--inputs", "A_prev=4x8",
                                "--params", "W=3x5,b=3x1", "--against", "W @ A_prev + b")
    assert status == 2 and out == ""
    assert "error: the check could not run: ValueError: matmul" in err and "Traceback" in err


def docstring_commands(module):
    """The python -m parity_tests.checker commands in a module's docstring, as argument lists."""
    text = module.__doc__.replace("\\\n", " ")
    return [shlex.split(line.split("python -m parity_tests.checker", 1)[1])
            for line in text.splitlines() if line.strip().startswith("python -m parity_tests.checker")]


@pytest.mark.parametrize("module", [linear, relu, dropout, softmax], ids=lambda m: m.__name__)
def test_example_docstring_commands_flag_their_bug(run_main, module):
    (args,) = docstring_commands(module)
    status, out, err = run_main(*args)
    assert status == 1, err
    assert "FAIL" in out


def test_cli_module_target_fixed_npy_and_state(run_main, tmp_path):
    np.save(tmp_path / "y.npy", np.array([[0, 2, 1, 2, 0, 1]]))
    status, out, _ = run_main("examples.softmax:forward,backward", "--params", "scores=3x6",
                              "--fixed", f"y={tmp_path / 'y.npy'}", "--against", "F.cross_entropy(scores.T, y[0])")
    assert status == 0, out
    assert "at kinks" not in out  # parameters only: nothing for the kink probe to move
    status, out, _ = run_main(
        "examples.batchnorm:forward,backward", "--inputs", "x=4x6", "--params", "gamma=4x1,beta=4x1",
        "--state", "running_mean=4x1:0", "--state", "running_var=4x1:1", "--mode", "train", "--against",
        "F.batch_norm(x.T, state['running_mean'].view(-1), state['running_var'].view(-1), gamma.view(-1), "
        "beta.view(-1), training=mode == 'train', momentum=0.1).T")
    assert status == 0, out
    assert "running_var after step" in out


def test_cli_user_file_with_the_issue_spelling_noise_and_finite_differences(run_main, tmp_path):
    (tmp_path / "helpers.py").write_text("def scale(x):\n    return 1 + x\n")
    (tmp_path / "mine.py").write_text(
        "from helpers import scale\n\n"           # a module beside the file is importable
        "def forward(x, W, eps):\n    return (x @ W) * scale(eps), (x, W, eps)\n\n"
        "def backward(dout, cache):\n    x, W, eps = cache\n    d = dout * scale(eps)\n"
        "    return {'dx': d @ W.T, 'dW': x.T @ d}\n")
    target = f"{tmp_path / 'mine.py'}:forward,backward"
    status, out, _ = run_main(target, "--shapes", "x=4x5,W=5x3", "--noise", "eps=4x3:0.1", "--against",
                              "(x @ W) * (1 + eps)", "--batch-axis", "0")
    assert status == 0, out
    status, out, _ = run_main(target, "--shapes", "x=4x5,W=5x3", "--noise", "eps=4x3:0.1")
    assert status == 0, out
    assert "dW (finite differences)" in out and "at kinks" not in out


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cli_torch_side_on_cuda(run_main):
    status, out, _ = run_main("examples/linear.py:forward,backward_missing_1_over_m", *LINEAR_ARGS,
                              "--device", "cuda")
    assert status == 1 and "the 1/m is missing" in out


# --- code under test that writes into its arguments ---------------------------------------------------

def test_backward_writing_into_dout_passes_with_a_warning():
    def forward(A, D):
        return A * D / 0.8, D

    def backward(dout, D):  # correct, but scales dout in place
        dout *= D
        dout /= 0.8
        return dout

    report = check_backward(forward, backward, lambda A, D: A * D / 0.8, inputs={"A": (4, 6)},
                            random={"D": Mask((4, 6), keep_prob=0.8)}, finite_differences=True)
    assert report.passed, str(report)
    assert [w.split(":")[0] for w in report.warnings] == ["backward wrote into dout"]
    assert "warning: backward wrote into dout" in str(report)


def test_the_output_is_compared_as_forward_returned_it_not_after_backward():
    """The cache holds the output itself; a backward that then writes into it (out = s, ds = dout * s (1 - s),
    s overwritten afterwards) must not change the compared output. Before the snapshot: FAIL on out."""
    def forward(z):
        s = 1 / (1 + np.exp(-z))
        return s, s

    def backward(dout, s):
        dz = dout * s * (1 - s)
        s[...] = 0.0   # the cache's buffer reused
        return dz

    report = check_backward(forward, backward, lambda z: torch.sigmoid(z), inputs={"z": (3, 4)})
    assert report.passed, str(report)


def test_forward_writing_into_its_input_passes_with_a_warning():
    def forward(x):
        x *= 2  # overwrites its input
        return x, None

    report = check_backward(forward, lambda dout, cache: 2 * dout, lambda x: 2 * x, inputs={"x": (3, 4)},
                            finite_differences=True)
    assert report.passed, str(report)
    assert [w.split(":")[0] for w in report.warnings] == ["forward wrote into x"]
    assert check_backward(relu.forward, relu.backward, relu.torch_relu, inputs={"Z": (4, 6)}).warnings == []


# --- what may be differentiated, and how it is drawn ----------------------------------------------------

def test_inputs_may_be_left_out_when_only_params_are_differentiated():
    report = check_backward(lambda W: (W ** 2, W), lambda dout, W: 2 * W * dout, lambda W: W ** 2,
                            params={"W": (3, 4)})
    assert report.passed and [d.name for d in report.diffs] == ["out", "dW"]
    with pytest.raises(ValueError, match="nothing to differentiate"):
        check_backward(lambda: (0.0, None), lambda dout, cache: (), lambda: torch.tensor(0.0))


def test_domains_draw_positive_unit_integer_and_custom_arrays():
    seen = {}

    def forward(x, p, s, y):
        seen.update(x=x, p=p, s=s, y=y)
        return np.log(x) * p + s, (x, p)

    def backward(dout, cache):
        x, p = cache
        return {"dx": dout * p / x, "dp": dout * np.log(x), "ds": dout}

    def between_2_and_3(rng, shape, dtype):
        return rng.uniform(2, 3, shape).astype(dtype)

    report = check_backward(
        forward, backward, lambda x, p, s, y: torch.log(x) * p + s,
        inputs={"x": Domain.positive((4, 6)), "p": Domain.unit((4, 6)),
                "s": Domain.custom((4, 6), between_2_and_3, 2, 3)},
        random={"y": Domain.integers((1, 6), 0, 3)}, probe_kinks=True, kinks=(0.0, 2.5), finite_differences=True)
    assert report.passed, str(report)
    assert (seen["x"] > 0).all() and ((0.05 <= seen["p"]) & (seen["p"] <= 0.95)).all()
    assert seen["y"].dtype == np.int64 and set(np.unique(seen["y"])) <= {0, 1, 2}
    # The domains are open intervals: 0 lies in none, 2.5 in x's (0, inf) and s's (2, 3), not in p's (0, 1).
    assert "entries of x, s set exactly at the kinks [2.5]" in report.notes[0]
    with pytest.raises(ValueError, match="cannot be differentiated"):
        check_backward(forward, backward, inputs={"y": Domain.integers((1, 6), 0, 3)})


def test_kink_probe_needs_a_kink_inside_an_input_domain():
    with pytest.raises(ValueError, match="kink inside its domain"):
        check_backward(lambda x: (np.log(x), x), lambda dout, x: dout / x, torch.log,
                       inputs={"x": Domain.positive((3, 4))}, probe_kinks=True)


# --- several outputs, dtypes ----------------------------------------------------------------------------

def _cell_forward(x, h):
    """An RNN-like cell with two outputs: (tanh(x + h), x * h)."""
    t = np.tanh(x + h)
    return (t, x * h), (x, h, t)


def _cell_backward(dout, cache):
    (dt, dc), (x, h, t) = dout, cache
    da = dt * (1 - t ** 2)
    return {"dx": da + dc * h, "dh": da + dc * x}


def test_several_outputs_as_a_tuple_or_a_dict():
    shapes = {"x": (3, 5), "h": (3, 5)}
    report = check_backward(_cell_forward, _cell_backward, lambda x, h: (torch.tanh(x + h), x * h),
                            inputs=shapes, finite_differences=True)
    assert report.passed, str(report)
    assert [d.name for d in report.diffs][:4] == ["out[0]", "out[1]", "dx", "dh"]

    def forward(x, h):
        (t, c), cache = _cell_forward(x, h)
        return {"h": t, "c": c}, cache

    def backward_missing_dc(dout, cache):  # bug: ignores the gradient reaching c
        return _cell_backward((dout["h"], 0 * dout["c"]), cache)

    report = check_backward(forward, backward_missing_dc, lambda x, h: {"h": torch.tanh(x + h), "c": x * h},
                            inputs=shapes)
    assert [d.name for d in report.diffs] == ["out[h]", "out[c]", "dx", "dh"]
    assert [d.name for d in report.failures] == ["dx", "dh"]


def test_a_gradient_of_another_dtype_is_a_failed_row():
    def backward(dout, x):
        return (2 * dout).astype(np.float64)  # bug: float64 in a float32 check

    report = check_backward(lambda x: (2 * x, x), backward, lambda x: 2 * x, inputs={"x": (3, 4)}, dtype="float32")
    (diff,) = report.failures
    assert (diff.name, diff.note) == ("dx", "dtype float64 vs float32 (float32 is never compared with float64)")


# --- structured rows --------------------------------------------------------------------------------------

def test_rows_carry_their_check_hint_and_worst_elements():
    report = check_backward(relu.forward, relu.backward_strict_mask, relu.torch_relu, inputs={"Z": (4, 6)},
                            probe_kinks=True, finite_differences=True)
    assert [(d.tensor, d.check) for d in report.diffs] == [
        ("out", "oracle"), ("dZ", "oracle"), ("dZ", "finite differences"), ("out", "kinks"), ("dZ", "kinks")]
    (diff,) = report.failures
    assert diff.note == "" and diff.hint.startswith("mismatches only where Z is exactly at a kink")
    worst = diff.worst_elements[0]
    assert (worst.index, worst.expected) == (diff.worst_index, 0.0) and worst.actual != 0.0
    assert f"FAIL at {diff.worst_index}" in str(report) and diff.hint in str(report)


# --- the command line: negative kinks, --values, domains, the title -----------------------------------

def test_cli_negative_kinks_values_domains_and_the_typed_title(run_main, tmp_path, monkeypatch):
    np.save(tmp_path / "z.npy", np.linspace(-2, 2, 24).reshape(4, 6))
    monkeypatch.chdir(REPO / "examples")
    status, out, err = run_main("relu.py:forward,backward", "--inputs", "Z=4x6", "--against", "torch.relu(Z)",
                                "--kinks", "-1,0")
    assert status == 0, err
    assert out.startswith("parity: relu.py:forward,backward [float64]")
    assert "at the kinks [-1.0, 0.0]" in out
    status, out, err = run_main("relu.py:forward,backward", "--inputs", "Z=4x6", "--against", "torch.relu(Z)",
                                "--values", f"Z={tmp_path / 'z.npy'}")
    assert status == 0 and "at kinks" not in out, err  # the only input is given: nothing to probe
    status, out, err = run_main("relu.py:forward,backward", "--inputs", "Z=4x6:positive", "--against",
                                "torch.relu(Z)")
    assert status == 0 and "at kinks" not in out, err  # 0 is outside the positive domain
    status, out, err = run_main("softmax.py:forward,backward", "--params", "scores=3x6", "--draw",
                                "y=1x6:int:0:3", "--against", "F.cross_entropy(scores.T, y[0])")
    assert status == 0, out + err
    status, _, err = run_main("relu.py:forward,backward", "--inputs", "Z=4x6:bounded")
    assert status == 2 and "bad domain 'bounded'" in err


def test_cli_a_float64_gradient_in_a_float32_check_exits_1(run_main, tmp_path):
    (tmp_path / "mine.py").write_text("import numpy as np\n\ndef forward(x):\n    return 2 * x, None\n\n"
                                      "def backward(dout, cache):\n    return (2 * dout).astype(np.float64)\n")
    status, out, err = run_main(f"{tmp_path / 'mine.py'}:forward,backward", "--inputs", "x=3x4", "--against",
                                "2 * x", "--dtype", "float32")
    assert status == 1, err
    assert "dtype float64 vs float32" in out

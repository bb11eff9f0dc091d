"""check_optimizer (parity_tests/checker/optimizer.py) on what it is given and what it gives back: the
rule's forms (function, object, class; (params, state)), its state (kinds, keys, dtypes, rows exposed at some
step counts), the copies that keep user code from corrupting the references, bad arguments named, the CLI
and the pytest fixture. The hints, the references and the schedules: test_check_optimizer.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from examples import optimizers as examples
from parity_tests.checker import optimizer_cli
from parity_tests.checker.optimizer import check_optimizer, draw_stream

pytest_plugins = ("pytester",)

LR = 0.01
PLUGIN = "parity_tests.checker.pytest_plugin"


def test_a_float64_rule_in_the_float32_check_fails_by_dtype_not_by_value():
    def upcasting_gd(params, grads, state, lr):
        for key in params:
            params[key] = params[key].astype(np.float64) - lr * grads["d" + key]
    report = check_optimizer(upcasting_gd, "gd", lr=LR, dtype="float32", against="numpy", steps=(1,))
    assert not report.passed
    assert all("float32 is never compared with float64" in d.note for d in report.comparisons[
        "scratch_numpy.optim gd"].failures)


def test_float32_state_in_the_float64_check_fails_by_dtype():
    def momentum_float32_v(params, grads, state, lr, beta):
        state = state or {"v": {"d" + k: np.zeros(p.shape, np.float32) for k, p in params.items()}}
        for k in params:
            v = state["v"]["d" + k] = (beta * state["v"]["d" + k] + (1 - beta) * grads["d" + k]).astype(np.float32)
            params[k] -= lr * v.astype(np.float64)
        return state
    report = check_optimizer(momentum_float32_v, "momentum", lr=LR, against="both", steps=(1,))
    for comparison in report.comparisons.values():
        velocity = [d for d in comparison.diffs if d.tensor.startswith("v[")]
        assert len(velocity) == 4 and all(not d.passed and "float32 is never compared with float64" in d.note
                                          for d in velocity)


def test_a_rule_that_writes_into_the_grads_corrupts_no_other_contender():
    """Zeroing the gradients after its own update: the reference, run later on the same stream, would see
    zeros if it shared the arrays, and the slipped variants too."""
    def adam_that_zeroes_grads(params, grads, state, **hp):
        state = examples.adam_update(params, grads, state, **hp)
        for g in grads.values():
            g[...] = 0.0
        return state
    report = check_optimizer(adam_that_zeroes_grads, "adam", lr=LR)
    assert report.passed, str(report)
    assert any("wrote into grads (first at step 1)" in w for w in report.warnings)


def test_a_rule_whose_state_keeps_the_gradient_arrays_is_warned():
    """v_1 = dW_1 stored without a copy: right on fresh arrays, wrong in a loop that reuses its buffers."""
    def momentum_keeping_grads(params, grads, state, lr, beta):
        state = examples.momentum_update(params, grads, state, lr, beta)
        state["last"] = grads                      # the step's gradients, for a later look
        return state
    report = check_optimizer(momentum_keeping_grads, "momentum", lr=LR, steps=(1, 3), against="numpy")
    assert report.passed, str(report)
    assert ("the rule's state holds gradient arrays it was handed (last[dW1], last[db1], last[dW2], last[db2] "
            "after 1 step)") in str(report)
    assert not check_optimizer(examples.momentum_update, "momentum", lr=LR, steps=(1, 3), against="numpy").warnings

    def deletes_a_gradient(params, grads, state, lr):
        examples.gd_update(params, grads, state, lr)
        del grads["db2"]
    deleted = check_optimizer(deletes_a_gradient, "gd", lr=LR, steps=(1,))
    assert deleted.passed and any("wrote into grads (first at step 1)" in w for w in deleted.warnings)


def test_the_rule_cannot_change_the_starting_parameters_of_the_reference():
    def overwrites_params(params, grads, state, lr):
        for key in params:
            params[key][...] = 7.0
    report = check_optimizer(overwrites_params, "gd", lr=LR, against="both", steps=(1,))
    for reference in report.comparisons.values():
        assert all(d.expected_value != 7.0 and d.actual_value == 7.0 for d in reference.diffs)


def test_wrong_shapes_and_state_types_are_named():
    def transposes(params, grads, state, lr):
        params["W1"] = params["W1"].T
    with pytest.raises(ValueError, match=r"after 1 step, params\['W1'\] has shape \(5, 4\); expected \(4, 5\)"):
        check_optimizer(transposes, "gd", lr=LR)

    def list_state(params, grads, state, lr):
        return [1, 2]
    with pytest.raises(TypeError, match="the rule's state is a list: return a dict"):
        check_optimizer(list_state, "gd", lr=LR)

    def flat_velocity(params, grads, state, lr, beta):
        state = state or {"v": {"d" + k: np.zeros(p.size) for k, p in params.items()}}
        return state
    with pytest.raises(ValueError, match=r"state\['v'\]\['dW1'\] has shape \(20,\); expected \(4, 5\)"):
        check_optimizer(flat_velocity, "momentum", lr=LR)

    def drops_a_key(params, grads, state, lr):
        del params["b2"]
    with pytest.raises(ValueError, match=r"params must hold exactly \['W1', 'W2', 'b1', 'b2'\]"):
        check_optimizer(drops_a_key, "gd", lr=LR)


def test_bad_arguments_are_named():
    gd = examples.gd_update
    with pytest.raises(ValueError, match="name must be one of"):
        check_optimizer(gd, "sgd", lr=LR)
    with pytest.raises(TypeError, match="unexpected beta1"):
        check_optimizer(gd, "momentum", lr=LR, beta1=0.9)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        check_optimizer(gd, "gd", lr=-1.0)
    with pytest.raises(ValueError, match="m .the number of training examples. is needed"):
        check_optimizer(gd, "gd", lr=LR, l2_lambda=0.5)
    with pytest.raises(ValueError, match="steps must be"):
        check_optimizer(gd, "gd", lr=LR, steps=(0, 3))
    with pytest.raises(ValueError, match="dtype must be one of"):
        check_optimizer(gd, "gd", lr=LR, dtype="float16")
    with pytest.raises(ValueError, match="against must be one of"):
        check_optimizer(gd, "gd", lr=LR, against="keras")
    with pytest.raises(TypeError, match="rule must be a function"):
        check_optimizer(42, "gd", lr=LR)


def test_bad_seed_tolerance_and_hyperparameter_values_are_named_before_the_rule_runs():
    def must_not_run(params, grads, state, lr, beta1):
        raise AssertionError("the rule ran before its arguments were checked")
    for bad in (-1, 1.5, "0", True):
        with pytest.raises(ValueError, match=f"seed must be a whole number >= 0, not {bad!r}"):
            check_optimizer(must_not_run, "adam", lr=LR, seed=bad)
    with pytest.raises(TypeError, match="tolerance must be None or a comparison.Tolerance"):
        check_optimizer(must_not_run, "adam", lr=LR, tolerance=1e-6)
    # against a torch factory no NumPy reference runs: the value is still checked, and named
    for against in ("numpy", lambda ts: torch.optim.Adam(ts, lr=LR)):
        with pytest.raises(ValueError, match=r"beta1 must be a number in \[0, 1\), got 5.0"):
            check_optimizer(must_not_run, "adam", lr=LR, beta1=5.0, against=against)
    with pytest.raises(ValueError, match="lr must be a finite number > 0, got inf"):
        check_optimizer(must_not_run, "adam", lr=float("inf"))
    # a NumPy float is a number
    assert check_optimizer(examples.gd_update, "gd", lr=np.float32(0.5), steps=(1,)).hyperparameters["lr"] == 0.5


def test_a_rule_that_returns_its_parameters_as_its_state_is_refused():
    """The state's "W1" would replace the parameter's row: the new parameters were judged while params never
    moved, and the check passed at steps=(1,) (the second step starts from the unchanged params)."""
    def gd_new_dict(params, grads, state, lr):
        return {k: params[k] - lr * grads["d" + k] for k in params}
    with pytest.raises(ValueError, match="after 1 step, the rule's state has the key 'W1', a parameter's name"):
        check_optimizer(gd_new_dict, "gd", lr=LR, steps=(1,))

    def velocity_keyed_like_params(params, grads, state, lr, beta):
        state = state or {k: np.zeros_like(p) for k, p in params.items()}
        for k in params:
            state[k] = beta * state[k] + (1 - beta) * grads["d" + k]
            params[k] -= lr * state[k]
        return state
    with pytest.raises(ValueError, match="state has the key 'W1'"):
        check_optimizer(velocity_keyed_like_params, "momentum", lr=LR, steps=(1,))
    # returning (params, state) with new parameters is the documented alternative
    def gd_pair(params, grads, state, lr):
        return {k: params[k] - lr * grads["d" + k] for k in params}, state
    assert check_optimizer(gd_pair, "gd", lr=LR, steps=(1, 3)).passed


def test_state_of_other_kinds_is_named():
    def adam_pair_state(params, grads, state, lr, beta1, beta2, eps):   # (v, s), not (params, state)
        full = examples.adam_update(params, grads, None if state is None else {"t": 0, "v": state[0],
                                                                                "s": state[1]}, lr, beta1, beta2, eps)
        return full["v"], full["s"]
    with pytest.raises(TypeError, match="after 1 step, the rule's state is a tuple: return a dict"):
        check_optimizer(adam_pair_state, "adam", lr=LR, steps=(1,))

    def list_velocity(params, grads, state, lr, beta):
        return state or {"v": [np.zeros_like(p) for p in params.values()]}
    with pytest.raises(TypeError, match=r"after 1 step, state\['v'\] is a list: keep per-tensor state in a dict"):
        check_optimizer(list_velocity, "momentum", lr=LR, steps=(1,))

    def numbered_velocity(params, grads, state, lr, beta):
        return state or {"v": {i: np.zeros_like(p) for i, p in enumerate(params.values())}}
    with pytest.raises(TypeError, match=r"after 1 step, state\['v'\] has the key 0: key it like the gradients"):
        check_optimizer(numbered_velocity, "momentum", lr=LR, steps=(1,))


def test_state_a_rule_exposes_after_some_steps_only_is_compared_where_it_is():
    class Exposes:
        """Correct momentum whose ``state`` shows v after the step counts in ``shown`` only."""
        def __init__(self, params, lr, beta):
            self.lr, self.beta, self.full, self.steps = lr, beta, None, 0

        def step(self, params, grads):
            self.steps += 1
            self.full = examples.momentum_update(params, grads, self.full, self.lr, self.beta)

        @property
        def state(self):
            return self.full if self.steps in self.shown else {}

    class Later(Exposes):
        shown = (3,)

    class Earlier(Exposes):
        shown = (1,)
    later = check_optimizer(Later, "momentum", lr=LR, steps=(1, 3), against="numpy")
    rows = {d.tensor for d in later.comparisons["scratch_numpy.optim momentum"].diffs}
    assert later.passed and "v[dW1] after 3 steps" in rows and "v[dW1] after 1 step" not in rows
    assert ("scratch_numpy.optim momentum keeps v[dW1], v[dW2], v[db1], v[db2], which the rule does not expose "
            "after 1 step: not compared") in str(later)
    assert "has no counterpart" not in str(later)
    earlier = check_optimizer(Earlier, "momentum", lr=LR, steps=(1, 3), against="numpy")
    assert earlier.passed and "v[dW1] after 1 step" in {
        d.tensor for d in earlier.comparisons["scratch_numpy.optim momentum"].diffs}


def test_an_object_rule_is_stepped_as_a_copy():
    """Checking one object twice (float64, then float32; or in two tests) starts from its state as given."""
    adam = examples.Adam(draw_stream(0).params, lr=LR)
    assert check_optimizer(adam, "adam", lr=LR, steps=(1, 3)).passed
    assert adam.state["t"] == 0 and not np.any(adam.state["v"]["dW1"])
    assert check_optimizer(adam, "adam", lr=LR, steps=(1, 3)).passed

    class GDWithAModule:   # a module cannot be deep-copied: the object itself is stepped, and the report says so
        def __init__(self):
            self.np, self.steps = np, 0

        def step(self, params, grads):
            self.steps += 1
            examples.gd_update(params, grads, None, LR)
    uncopyable = GDWithAModule()
    report = check_optimizer(uncopyable, "gd", lr=LR, steps=(1, 3))
    assert report.passed and uncopyable.steps == 3
    assert "the rule object could not be copied (TypeError: cannot pickle 'module' object)" in str(report)


def test_the_slipped_example_without_l2_is_plain_adam():
    assert check_optimizer(examples.adam_decay_on_biases, "adam", lr=LR, steps=(1, 3)).passed


def test_the_rule_gets_the_checks_hyperparameters_by_keyword():
    report = check_optimizer(examples.adam_update, "adam", lr=0.003, beta1=0.8, eps=1e-6, against="numpy")
    assert report.passed and "passed to the rule: lr, beta1, beta2, eps" in str(report)
    assert report.hyperparameters == {"lr": 0.003, "beta1": 0.8, "beta2": 0.999, "eps": 1e-6}


def test_a_users_torch_optimiser_factory_is_a_reference():
    adam = check_optimizer(examples.adam_update, "adam", lr=LR, against=lambda ts: torch.optim.Adam(ts, lr=LR))
    assert adam.passed and [*adam.comparisons] == ["your torch.optim.Adam (parameters only)"]
    assert all(not d.tensor.startswith(("v[", "s[", "t ")) for d in adam.comparisons[
        "your torch.optim.Adam (parameters only)"].diffs)
    # torch's default SGD momentum sums the gradients: the course's rule does not agree with it
    sgd = check_optimizer(examples.momentum_update, "momentum", lr=LR,
                          against=lambda ts: torch.optim.SGD(ts, lr=LR, momentum=0.9))
    assert not sgd.passed


def test_state_the_rule_keeps_in_other_names_is_listed_not_compared():
    class PartialAdam:
        def __init__(self, params, lr):
            self.lr, self.full = lr, None

        def step(self, params, grads):
            self.full = examples.adam_update(params, grads, self.full, self.lr)

        @property
        def state(self):
            return {"v": self.full["v"], "lr_used": self.lr}
    report = check_optimizer(PartialAdam, "adam", lr=LR, against="numpy", steps=(1, 3))
    assert report.passed
    assert {d.tensor for d in report.comparisons["scratch_numpy.optim adam"].diffs} == {
        f"{row} after {k}" for row in ("W1", "b1", "W2", "b2", "v[dW1]", "v[db1]", "v[dW2]", "v[db2]")
        for k in ("1 step", "3 steps")}
    text = str(report)
    assert "scratch_numpy.optim adam keeps s[dW1], s[dW2], s[db1], s[db2], t, which the rule does not expose" in text
    assert "the rule's lr_used has no counterpart in the reference: not compared" in text


def test_bad_schedule_arguments_are_named():
    gd = examples.gd_update
    with pytest.raises(ValueError, match="schedule must be None or one of .*'inverse_time'.*not 'cosine'"):
        check_optimizer(gd, "gd", lr=LR, schedule="cosine")
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match=f"steps_per_epoch must be a whole number >= 1, not {bad!r}"):
            check_optimizer(gd, "gd", lr=LR, schedule="exponential", base=0.95, steps_per_epoch=bad)
    with pytest.raises(ValueError, match="schedule 'staircase' needs decay_rate and time_interval, e.g. "
                                         "decay_rate=1.0, time_interval=1000"):
        check_optimizer(gd, "gd", lr=LR, schedule="staircase")
    with pytest.raises(TypeError, match=r"need schedule=NAME\); got unexpected decay_rate"):
        check_optimizer(gd, "gd", lr=LR, decay_rate=0.5)
    with pytest.raises(TypeError, match="schedule exponential takes base; got unexpected decay_rate"):
        check_optimizer(gd, "gd", lr=LR, schedule="exponential", base=0.9, decay_rate=0.5)
    with pytest.raises(ValueError, match="decay_rate"):
        check_optimizer(gd, "gd", lr=LR, schedule="inverse_time", decay_rate=-1.0)


# ------------------------------------------------------------------ command line and pytest fixture

def test_cli_exit_status(capsys):
    main = optimizer_cli.main
    assert main(["examples/optimizers.py:adam_update", "--rule", "adam", "--lr", "0.01", "--steps", "1,3"]) == 0
    assert "verdict: agrees with scratch_numpy.optim adam and torch.optim.Adam" in capsys.readouterr().out
    assert main(["examples.optimizers:rmsprop_eps_inside_sqrt", "--rule", "rmsprop", "--lr", "0.01",
                 "--against", "numpy", "--dtype", "float32"]) == 1
    assert "eps_inside_sqrt: eps is inside the square root" in capsys.readouterr().out
    assert main(["examples/optimizers.py:gd_decay_without_m", "--rule", "gd", "--lr", "0.1", "--l2-lambda", "0.7",
                 "--m", "10", "--steps", "3"]) == 1
    assert "looks like decay_without_m" in capsys.readouterr().out
    assert main(["examples/optimizers.py:cs231n_momentum_update", "--rule", "cs231n_momentum", "--lr", "0.1",
                 "--nesterov", "--seed", "3"]) == 0
    assert main(["examples/optimizers.py:adam_update_lr_late", "--rule", "adam", "--lr", "0.01", "--schedule",
                 "inverse_time", "--decay-rate", "0.5", "--against", "numpy"]) == 1
    out = capsys.readouterr().out
    assert "schedule inverse_time(decay_rate=0.5), 2 steps per epoch" in out and "looks like schedule_late" in out
    assert main(["examples/optimizers.py:momentum_update_scheduled", "--rule", "momentum", "--lr", "0.1",
                 "--schedule", "staircase", "--decay-rate", "1", "--time-interval", "4", "--steps-per-epoch",
                 "3"]) == 0
    assert "staircase(decay_rate=1.0, time_interval=4), 3 steps per epoch" in capsys.readouterr().out
    assert main(["examples/optimizers.py:adam_update_lr", "--rule", "adam", "--lr", "0.01", "--schedule",
                 "inverse_time"]) == 2
    assert "needs decay_rate" in capsys.readouterr().err
    # not a rule (a dict): the check cannot run
    assert main(["examples/optimizers.py:L2", "--rule", "gd", "--lr", "0.01"]) == 2
    assert "error: the check could not run" in capsys.readouterr().err
    for bad in (["examples/optimizers.py:nothing_here", "--rule", "gd", "--lr", "0.1"],
                ["examples/optimizers.py:gd_update", "--rule", "sgd", "--lr", "0.1"],
                ["examples/optimizers.py:gd_update", "--rule", "gd", "--lr", "0.1", "--steps", "0,3"]):
        with pytest.raises(SystemExit) as exit_:
            main(bad)
        assert exit_.value.code == 2


def test_the_pytest_fixture_fails_with_the_report(pytester):
    pytester.makepyfile(test_rules="""
        from examples.optimizers import adam_eps_before_correction, adam_update

        def test_good(check_update_rule):
            assert check_update_rule(adam_update, "adam", lr=0.01, steps=(1, 3)).passed

        def test_slip(check_update_rule):
            check_update_rule(adam_eps_before_correction, "adam", lr=0.01, steps=(1, 3), against="numpy")
    """)
    result = pytester.runpytest_inprocess("-p", PLUGIN, "-p", "no:cacheprovider",
                                          "-W", "ignore::pytest.PytestAssertRewriteWarning")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.re_match_lines([r"E +AssertionError: check_optimizer: adam_eps_before_correction vs adam",
                                  r"E +- eps_before_correction: eps is added to sqrt\(s\) before"])
    assert "def assert_passed" not in result.stdout.str()


def test_the_pytest_fixture_lets_the_rules_own_assertion_show_where_it_failed(pytester):
    """An assert inside the rule is the rule's failure, not a mismatch: its line is in the traceback."""
    pytester.makepyfile(test_own="""
        def checks_itself(params, grads, state, lr):
            assert state is not None, "the rule's own invariant"

        def test_rule_asserts(check_update_rule):
            check_update_rule(checks_itself, "gd", lr=0.01, steps=(1,))
    """)
    result = pytester.runpytest_inprocess("-p", PLUGIN, "-p", "no:cacheprovider",
                                          "-W", "ignore::pytest.PytestAssertRewriteWarning")
    result.assert_outcomes(failed=1)
    result.stdout.re_match_lines([r">\s+assert state is not None, \"the rule's own invariant\"",
                                  r"E\s+AssertionError: the rule's own invariant"])

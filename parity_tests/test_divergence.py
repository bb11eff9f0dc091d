"""First divergence (parity_tests.checker.divergence): the tolerance's growth law measured on the
project's own NumPy and torch optimisers, and the locator naming a planted step and element.

The oracles are independent of the locator: the law is checked against the raw elementwise
differences of real float32 and float64 runs (NumPy vs torch, adam, momentum and gd, 1000 steps
each), and the locator against perturbations planted at a known step and element (in a live
training run, and in recorded states)."""

import math

import numpy as np
import pytest
import torch

from experiments import datasets, generators, sides
from parity_tests.checker.divergence import GROWTH, Growth, Recorded, first_divergence

STEPS = 1000
OPTIMISERS = (("adam", 0.01), ("momentum", 0.1), ("gd", 0.1))
PLANTED = 1e-4   # a realistic slip: one element off by 1e-4 relative


def _sides(dtype: str, m: int = 200):
    """Both sides of a [2, 8, 8, 1] tanh network on 200 moons points, from the same He weights."""
    data = datasets.generated("moons", generators.make_moons(m, 0.2, seed=3), seed=3)
    spec = sides.NetSpec((2, 8, 8, 1), "tanh", "sigmoid")
    params0 = spec.init_params("he", np.random.default_rng(2), dtype)
    return (sides.NumpyNet(spec, params0, data, dtype),
            sides.TorchNet(spec, params0, data, dtype, torch.device("cpu")))


def _trajectory(side, optimiser: str, lr: float, epochs: int, batch_size: int, plant=None) -> Recorded:
    """{updates done: side.params()} after every epoch of the project's mini-batch loop; ``plant``
    (epoch, name, index): multiply that element of the NumPy side's live parameters by 1 + PLANTED
    after that epoch, before it is recorded."""
    states = {}

    def callback(epoch, history, live):
        if plant is not None and epoch == plant[0]:
            live[plant[1]][plant[2]] *= 1 + PLANTED
        states[len(history.costs)] = side.params()

    side.fit(optimiser, lr, {}, callback, epochs=epochs, batch_size=batch_size, seed=0)
    return Recorded(states)


def _needed(a: dict, b: dict) -> float:
    """The smallest rtol the rule |a - b| <= rtol (G + |b|) passes with (G: the state's largest magnitude)."""
    scale = max(max(np.abs(x).max(), np.abs(y).max()) for x, y in zip(a.values(), b.values()))
    return max(float((np.abs(a[k].astype(np.float64) - b[k]) / (scale + np.abs(b[k].astype(np.float64)))).max())
               for k in a)


@pytest.fixture(scope="module")
def runs():
    """runs(dtype) -> {optimiser: (NumPy, torch) Recorded} of 1000 full-batch steps, made once per dtype."""
    made = {}

    def get(dtype):
        if dtype not in made:
            made[dtype] = {}
            for name, lr in OPTIMISERS:
                numpy_side, torch_side = _sides(dtype)
                made[dtype][name] = tuple(_trajectory(side, name, lr, STEPS, 200) for side in (numpy_side, torch_side))
        return made[dtype]
    return get


@pytest.fixture(scope="module")
def float32_runs(runs):
    return runs("float32")


@pytest.mark.parametrize("dtype", sorted(GROWTH))
@pytest.mark.parametrize("optimiser", [name for name, _ in OPTIMISERS])
def test_rounding_stays_under_the_sqrt_law(runs, dtype, optimiser):
    a, b = runs(dtype)[optimiser]
    law = GROWTH[dtype]
    ratio = [_needed(a.state_at(k), b.state_at(k)) / law.at(k).rtol for k in a.steps]
    assert a.steps == list(range(1, STEPS + 1))
    # measured, float32: at worst adam 0.022 (step 978), momentum 0.005 (step 12), gd 0.011 (step 1) of the
    # band; float64: adam 0.021 (step 841), momentum 0.010 (step 1), gd 0.022 (step 2)
    assert max(ratio) < 0.1, f"{optimiser}: worst {max(ratio):.3f} of rtol(k) at step {int(np.argmax(ratio)) + 1}"
    record = first_divergence(a, b, dtype=dtype)
    assert not record.parted and record.last_within == STEPS and record.loaded == (STEPS,)


@pytest.mark.parametrize("dtype", sorted(GROWTH))
def test_the_rounding_grows_so_the_band_must(runs, dtype):
    """The growth is no precaution: Adam's rounding (the smallest rtol its states pass with) is
    about 30 times larger over the last 100 of 1000 steps than over the first 10 (measured 31.6
    float32, 29.3 float64), so a constant band fit to the start would be too tight later."""
    a, b = runs(dtype)["adam"]
    needed = [_needed(a.state_at(k), b.state_at(k)) for k in a.steps]
    assert np.median(needed[-100:]) > 10 * np.median(needed[:10])


@pytest.mark.parametrize("step", [1, 10, 400, STEPS])
def test_a_planted_1e_4_slip_leaves_the_float32_band_at_its_step(float32_runs, step):
    a, b = float32_runs["adam"]
    state = a.state_at(step)
    name = max(state, key=lambda k: np.abs(state[k]).max())
    index = np.unravel_index(np.argmax(np.abs(state[name])), state[name].shape)
    planted = {k: {n: v.copy() for n, v in a.state_at(k).items()} for k in a.steps}
    for k in a.steps[step - 1:]:   # from the planted step on, as a slip that training carries along
        planted[k][name][index] *= 1 + PLANTED
    record = first_divergence(Recorded(planted), b, dtype="float32")
    assert (record.first_out, record.last_within, record.tensor, record.index) == (step, step - 1 or None,
                                                                                   name, tuple(map(int, index)))
    assert record.relative == pytest.approx(PLANTED, rel=0.02)
    assert len(record.loaded) <= 2 + math.ceil(math.log2(STEPS))


def test_the_locator_names_a_step_planted_in_a_live_minibatch_adam_run():
    """NumPy's mini-batch Adam (batches of 64 from 200 points: 4 updates an epoch) with one
    weight nudged by 1e-4 after epoch 60, against torch's run of the same loop, float64."""
    numpy_side, torch_side = _sides("float64")
    plant = (60, "W2", (3, 5))
    a = _trajectory(numpy_side, "adam", 0.01, 120, 64, plant)
    b = _trajectory(torch_side, "adam", 0.01, 120, 64)
    record = first_divergence(a, b, dtype="float64")
    planted_step = 4 * (plant[0] + 1)
    assert (record.last_within, record.first_out, record.tensor, record.index) == (
        planted_step - 4, planted_step, "W2", (3, 5))
    assert record.relative == pytest.approx(PLANTED / (1 + PLANTED), rel=1e-6)
    assert record.agreement < 1e-13
    assert str(record).startswith(f"agree to {record.agreement:.1e} until step {planted_step - 4}; "
                                  f"by step {planted_step}, the next saved, W2[3, 5] parts: ")
    # every state saved: the step is exact, and bisection read few of them
    assert len(record.loaded) <= 2 + math.ceil(math.log2(len(a.steps)))


def test_replay_names_the_exact_step_inside_a_coarse_bracket(float32_runs):
    a, b = float32_runs["momentum"]
    planted = {k: {n: v.copy() for n, v in a.state_at(k).items()} for k in a.steps}
    for k in a.steps[436:]:   # planted at step 437, between the states saved every 50 steps
        planted[k]["W1"][0, 0] += 1e-2
    every_50 = Recorded({k: planted[k] for k in a.steps if k % 50 == 0})
    coarse_b = Recorded({k: b.state_at(k) for k in a.steps if k % 50 == 0})
    coarse = first_divergence(every_50, coarse_b, dtype="float32")
    assert (coarse.last_within, coarse.first_out, coarse.exact) == (400, 450, False)

    def replay(lo, hi):   # stands for re-running both sides from their saved states at lo
        return tuple(Recorded({k: t.state_at(k) for k in range(lo, hi + 1)}) for t in (Recorded(planted), b))

    exact = first_divergence(every_50, coarse_b, dtype="float32", replay=replay)
    assert (exact.last_within, exact.first_out, exact.exact, exact.element) == (436, 437, True, "W1[0, 0]")


def test_never_parting_first_step_out_and_bad_input():
    state = {"W1": np.ones((2, 3)), "b1": np.zeros((2, 1))}
    same = Recorded({k: state for k in (10, 20, 30)})
    record = first_divergence(same, same, dtype="float64")
    assert not record.parted and str(record).startswith("never part: agree to 0.0e+00 through step 30")
    off = Recorded({k: {**state, "b1": np.full((2, 1), 0.5)} for k in (10, 20, 30)})
    record = first_divergence(off, same, dtype="float64")
    assert (record.last_within, record.first_out, record.element) == (None, 10, "b1[0, 0]")
    assert str(record).startswith("out of tolerance at step 10, the first saved: b1[0, 0] parts: 0.5 vs 0.0")
    nan = {**state, "W1": np.where(np.eye(2, 3) > 0, np.nan, 1.0)}
    record = first_divergence(Recorded({10: state, 20: nan, 30: nan}), same, dtype="float64")
    assert (record.last_within, record.first_out, record.element, record.relative) == (10, 20, "W1[0, 0]", np.inf)
    with pytest.raises(ValueError, match="share no saved step"):
        first_divergence(same, Recorded({5: state}), dtype="float64")
    with pytest.raises(ValueError, match=r"step 10: W1 is \(2, 3\) in one trajectory, \(3, 2\) in the other"):
        first_divergence(same, Recorded({10: {**state, "W1": np.ones((3, 2))}}), dtype="float64")
    with pytest.raises(ValueError, match="keys differ"):
        first_divergence(same, Recorded({10: {"W1": state["W1"]}}), dtype="float64")
    with pytest.raises(ValueError, match="dtype must be one of"):
        first_divergence(same, same, dtype="float16")
    with pytest.raises(ValueError, match="hold float64, dtype='float32' was asked for"):
        first_divergence(same, same, dtype="float32")


def test_the_law_is_8_to_9_ulps_times_sqrt_k():
    for dtype, law in GROWTH.items():
        eps = np.finfo(dtype).eps
        assert 7 * eps < law.rtol_1 < 10 * eps
        assert law.at(400).rtol == pytest.approx(20 * law.rtol_1)
        assert law.at(0).rtol == law.at(1).rtol == law.rtol_1
    assert Growth(1e-3).at(4).atol_scale == pytest.approx(2e-3)


def _steps_of(good: dict, bad: dict, first_bad: int, steps) -> Recorded:
    """{k: good before first_bad, bad from it on} at ``steps``."""
    return Recorded({k: bad if k >= first_bad else good for k in steps})


GOOD, BAD = {"w": np.array([1.0, 2.0, 3.0])}, {"w": np.array([1.0, 2.0, 3.5])}


def test_a_replay_that_does_not_reproduce_the_bracket_is_a_value_error():
    """Saved every 10 steps, parting by 30: a replay whose trajectories never part, or that lacks the
    bracket's start (so its first step looks like the first saved), would give a record that
    contradicts the saved states."""
    a, b = _steps_of(GOOD, BAD, 25, (10, 20, 30)), Recorded(dict.fromkeys((10, 20, 30), GOOD))

    def replayed(first_bad, start=0):   # replay(lo, hi): every step from lo + start to hi, parting at first_bad
        return lambda lo, hi: (_steps_of(GOOD, BAD, first_bad, range(lo + start, hi + 1)),
                               Recorded(dict.fromkeys(range(lo + start, hi + 1), GOOD)))

    record = first_divergence(a, b, dtype="float64", replay=replayed(25))
    assert (record.last_within, record.first_out, record.element, record.exact) == (24, 25, "w[2]", True)
    with pytest.raises(ValueError, match=r"replay\(20, 30\) does not reproduce the saved states .*never part"):
        first_divergence(a, b, dtype="float64", replay=replayed(math.inf))
    with pytest.raises(ValueError, match=r"replay\(20, 30\) does not reproduce .*out of tolerance at step 25, "
                                         r"the first saved"):
        first_divergence(a, b, dtype="float64", replay=replayed(25, start=5))


def test_one_saved_step_and_steps_saved_by_one_side_only():
    assert not first_divergence(Recorded({7: GOOD}), Recorded({7: GOOD}), dtype="float64").parted
    record = first_divergence(Recorded({7: BAD}), Recorded({7: GOOD}), dtype="float64")
    assert (record.last_within, record.first_out, record.loaded) == (None, 7, (7,))
    # a saves every 10, b every 15: only 30 and 60 are compared, and the parting at 40 is named "by 60"
    a = _steps_of(GOOD, BAD, 40, range(10, 61, 10))
    b = Recorded(dict.fromkeys(range(15, 61, 15), GOOD))
    record = first_divergence(a, b, dtype="float64")
    assert (record.last_within, record.first_out, record.exact) == (30, 60, False)
    assert set(record.loaded) == {30, 60}


def test_a_scalar_tensor_is_named_without_brackets():
    a = Recorded({1: {"w": np.ones((2, 1)), "b": np.array(0.5)}})
    b = Recorded({1: {"w": np.ones((2, 1)), "b": np.array(0.7)}})
    record = first_divergence(a, b, dtype="float64")
    assert (record.element, record.index) == ("b", ())
    assert " b parts: 0.5 vs 0.7 " in str(record)


@pytest.mark.parametrize("rtol_1, error", [(0.0, ValueError), (-1e-6, ValueError), (math.inf, ValueError),
                                           (math.nan, ValueError), ("1e-6", TypeError), (True, TypeError)])
def test_a_bad_growth_law_is_refused(rtol_1, error):
    with pytest.raises(error, match="rtol_1"):
        Growth(rtol_1)


def test_growth_must_be_a_growth():
    same = Recorded({1: GOOD})
    with pytest.raises(TypeError, match="growth must be a Growth"):
        first_divergence(same, same, dtype="float64", growth=1e-6)

"""The practical-aspects experiments regularisation, batchnorm, gradient_checking and
input_normalisation, and what experiments.sides gives them (dropout masks shared by both sides,
gradients that leave batch norm's running statistics alone).

The four run once, --quick, both implementations, in the session's run all --quick (conftest.quick_all: the real command in a subprocess; NumPy
gets its one BLAS thread there, and RuntimeWarnings are errors there too). Every claim must hold
on both sides and the sides must agree (float64). The numbers are checked against what is known
without the code under test: the course's published figures (regularisation at its full budget,
on its own points), the course's own recipes re-done here in a few lines of NumPy (its initial
weights, its dropout masks, its cost), and closed forms (a dW that is m times too large differs
from the right one by (m - 1) / (m + 1); normalised features have standard deviation 1).
TensorBoard event files are read back with EventAccumulator.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing import event_accumulator as ea

from experiments import datasets, generators, sides
from experiments.catalog import EXPERIMENTS
from parity_tests.test_experiments import cli_run, course_data_dir, main
from reference_torch import bridge
from scratch_numpy import models as n_models

REPO = Path(__file__).resolve().parents[1]
NAMES = ("regularisation", "batchnorm", "gradient_checking", "input_normalisation")
IMPLS = ("numpy", "torch")
KEEP_ALL = {ea.SCALARS: 0, ea.TENSORS: 0, ea.IMAGES: 0, ea.HISTOGRAMS: 0}


@pytest.fixture(scope="module")
def quick(quick_all):
    """(results.json, logdir) of the session's one run all --quick (conftest.quick_all), which
    runs these four with the rest."""
    status, _, err, results, logdir = quick_all
    assert status == 0, err[-3000:]
    return results, logdir


def metrics(results, name, impl="numpy") -> dict:
    """{variant: {metric: value}} of one experiment on one implementation."""
    return {row["variant"]: row["metrics"][impl] for row in results[name]["variants"]}


def events(run_dir: Path) -> ea.EventAccumulator:
    accumulator = ea.EventAccumulator(str(run_dir), size_guidance=KEEP_ALL)
    accumulator.Reload()
    return accumulator


def scalars(accumulator, tag) -> dict:
    return {e.step: e.value for e in accumulator.Scalars(tag)}


def course_cost(params: dict, X, Y, hidden, masks=None, keep_prob=1.0, l2_lambda=0.0) -> float:
    """The course's cost, written out: [LINEAR -> g -> (A * D / keep_prob)] * (L - 1) -> LINEAR ->
    sigmoid, J = -(1/m) sum(y log a + (1 - y) log(1 - a)) + l2_lambda/(2m) sum ||W||^2 (stable form)."""
    L, A = len(params) // 2, X
    for l in range(1, L):
        A = hidden(params[f"W{l}"] @ A + params[f"b{l}"])
        if masks is not None:
            A = A * masks[l - 1] / keep_prob
    Z = params[f"W{L}"] @ A + params[f"b{L}"]
    m = X.shape[1]
    cross_entropy = float(np.sum(Y * np.logaddexp(0, -Z) + (1 - Y) * np.logaddexp(0, Z)) / m)
    return cross_entropy + l2_lambda / (2 * m) * sum(float(np.sum(params[f"W{l}"] ** 2)) for l in range(1, L + 1))


def course_weights(layer_dims, seed: int) -> dict:
    """The course's initialize_parameters: np.random.seed(seed); W_l = randn(n_l, n_prev) / sqrt(n_prev)."""
    np.random.seed(seed)
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])
        params[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return params


def relu(Z):
    return np.maximum(Z, 0)


# --- the command line lists them ---------------------------------------------------------------


def test_list_shows_the_four_experiments():
    status, out, _ = main("list")
    assert status == 0
    blocks = {block.split(":", 1)[0]: block for block in out.split("\n\n")}
    assert set(NAMES) <= set(blocks)
    for name in NAMES:
        assert EXPERIMENTS[name].claim in blocks[name] and EXPERIMENTS[name].dataset in blocks[name]


# --- every claim on both implementations, the sides agree ---------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_claim_holds_on_both_implementations(quick, name):
    results, logdir = quick
    result = results[name]
    assert result["settings"]["quick"] and result["devices"] == {"numpy": "cpu", "torch": "cpu"}
    assert any(not claim["full_budget"] for claim in result["claims"])
    for claim in result["claims"]:
        expected = {"numpy": None, "torch": None} if claim["full_budget"] else {"numpy": True, "torch": True}
        assert claim["verdicts"] == expected, (name, claim["text"])
    for row in result["variants"]:
        for impl in IMPLS:
            assert list((logdir / name / row["variant"] / impl).glob("events.out.tfevents.*"))


@pytest.mark.parametrize("name", NAMES)
def test_the_two_sides_agree(quick, name):
    for row in quick[0][name]["variants"]:
        divergence = row["divergence"]
        assert divergence.get("cost", 0) < 1e-12 and divergence["params"] < 1e-12, (row["variant"], divergence)
        assert set(divergence["metrics"]) == set(row["metrics"]["numpy"])
        for metric, diff in divergence["metrics"].items():
            if metric.startswith("difference_"):   # each side's own finite-difference rounding per tensor:
                continue                            # the sides differ at 1e-8 (the overall difference agrees)
            assert diff < 1e-9, (name, row["variant"], metric, diff)


# --- regularisation ----------------------------------------------------------------------------


def test_course_dropout_masks_are_the_courses_draw():
    """np.random.seed(1), then D1 = rand(20, m) < 0.86, then D2 = rand(3, m) < 0.86: the masks of
    every one of the course's forward passes (it re-seeds at each)."""
    spec = sides.NetSpec((2, 20, 3, 1), "relu", "sigmoid", keep_probs=(0.86, 0.86))
    masks = sides.course_dropout_masks(spec, 211, 1, "float64")
    np.random.seed(1)
    D1 = (np.random.rand(20, 211) < 0.86).astype(int)
    D2 = (np.random.rand(3, 211) < 0.86).astype(int)
    assert set(masks) == {"D1", "D2"}
    assert np.array_equal(masks["D1"], D1) and np.array_equal(masks["D2"], D2)
    assert masks["D1"].dtype == np.float64


def test_regularisation_starts_from_the_course_weights_and_masks(quick):
    """Iteration 0's cost of each variant is the course's cost at the course's weights (and masks)."""
    data = datasets.toy_set("regularization_2d", course_data_dir())
    X, Y = data.train.X, data.train.Y
    params = course_weights((2, 20, 3, 1), 3)
    np.random.seed(1)
    masks = [np.random.rand(20, X.shape[1]) < 0.86, np.random.rand(3, X.shape[1]) < 0.86]
    expected = {"none": course_cost(params, X, Y, relu),
                "l2": course_cost(params, X, Y, relu, l2_lambda=0.7),
                "dropout": course_cost(params, X, Y, relu, masks, 0.86)}
    for impl in IMPLS:
        for variant, cost in expected.items():
            assert metrics(quick[0], "regularisation", impl)[variant]["initial_cost"] == pytest.approx(cost, rel=1e-13)


def test_regularisation_quick_gap_and_weights(quick):
    for impl in IMPLS:
        m = metrics(quick[0], "regularisation", impl)
        for values in m.values():
            assert values["gap"] == pytest.approx(values["train_accuracy"] - values["test_accuracy"], abs=1e-15)
            # accuracies are counts over the course's 211 training and 200 test points
            assert round(values["train_accuracy"] * 211, 9) % 1 == 0 and round(values["test_accuracy"] * 200, 9) % 1 == 0
        assert max(m["l2"]["gap"], m["dropout"]["gap"]) < m["none"]["gap"]
        assert m["l2"]["weights_squared"] < 0.6 * m["none"]["weights_squared"]


def test_regularisation_logs_both_sides(quick):
    """The training tags on both sides; the torch run adds the divergence and the pair's figures,
    and its cost curve is the NumPy one (float32 in the event file)."""
    logdir, P = quick[1] / "regularisation" / "dropout", "regularisation/dropout"
    runs = {impl: events(logdir / impl) for impl in IMPLS}
    for impl, run in runs.items():
        tags = run.Tags()
        assert {f"{P}/{tag}" for tag in ("cost/iteration", "learning_rate/iteration", "accuracy/train/iteration",
                "accuracy/test/iteration", "grad_norm/W1/iteration", "grad_norm/W2/iteration",
                "grad_norm/W3/iteration")} | {"regularisation/hparams/gap/run"} <= set(tags["scalars"]), impl
        assert {f"{P}/weights/W{l}" for l in (1, 2, 3)} <= set(tags["histograms"])
        assert f"{P}/config/text_summary" in tags["tensors"]
    torch_tags = runs["torch"].Tags()
    assert {f"{P}/divergence/log10_cost/iteration", "regularisation/hparams/log10_params_divergence/run"} <= \
        set(torch_tags["scalars"])
    assert {f"{P}/figure/cost_curve", f"{P}/figure/decision_boundary"} <= set(torch_tags["images"])
    costs = {impl: scalars(run, f"{P}/cost/iteration") for impl, run in runs.items()}
    assert costs["numpy"].keys() == costs["torch"].keys() and len(costs["numpy"]) > 100
    assert all(costs["numpy"][s] == costs["torch"][s] for s in costs["numpy"])
    assert max(scalars(runs["torch"], f"{P}/divergence/log10_cost/iteration").values()) < -12


# --- batchnorm ---------------------------------------------------------------------------------


def test_batchnorm_reaches_the_target_first_and_its_log_says_so(quick):
    results, logdir = quick
    for impl in IMPLS:
        m = metrics(results, "batchnorm", impl)
        assert m["batchnorm"]["final_cost"] < 0.5 * m["plain"]["final_cost"]
        assert m["batchnorm"]["iterations_to_target"] < m["plain"]["iterations_to_target"]
        assert m["batchnorm"]["train_accuracy"] >= m["plain"]["train_accuracy"]
        # softmax over 3 classes from small scores: the first cost is near ln 3 on both networks
        for values in m.values():
            assert abs(values["initial_cost"] - np.log(3)) < 0.5
        # the logged curve (every iteration at this budget) crosses 0.1 where the metric says
        curve = scalars(events(logdir / "batchnorm" / "batchnorm" / impl), "batchnorm/batchnorm/cost/iteration")
        first = int(m["batchnorm"]["iterations_to_target"])
        assert curve[first] <= 0.1 < min(curve[i] for i in range(first))


# --- gradient_checking ------------------------------------------------------------------------


def test_gradient_checking_passes_the_right_backward_and_names_the_bug(quick):
    results, logdir = quick
    for impl in IMPLS:
        m = metrics(results, "gradient_checking", impl)
        right, bug = m["correct"], m["missing_1_over_m"]
        assert right["difference"] < 1e-7 and bug["difference"] > 1e-3     # the course's reading
        assert right["parameters"] == bug["parameters"] == 2 * 20 + 20 + 20 * 3 + 3 + 3 + 1
        assert (right["flagged_tensors"], right["flagged_layer"], right["directional_flagged_layer"]) == (0, 0, 0)
        assert (bug["flagged_tensors"], bug["flagged_layer"], bug["flagged_weight"]) == (1, 2, 1)
        assert bug["directional_flagged_layer"] == 2
        # dW2 is m times the right one, the other tensors are right: per tensor (m - 1) / (m + 1)
        # for dW2 (m = 300 moons points) and the correct check's reading everywhere else
        run = events(logdir / "gradient_checking" / "missing_1_over_m" / impl)
        per_tensor = {tag.split("/")[-2][len("difference_"):]: scalars(run, tag)[0] for tag in run.Tags()["scalars"]
                      if tag.startswith("gradient_checking/hparams/difference_")}   # HParams metrics
        assert per_tensor == {k[len("difference_"):]: pytest.approx(v, rel=1e-6)
                              for k, v in bug.items() if k.startswith("difference_")}
        assert "gradient_checking/missing_1_over_m/gradcheck_report/text_summary" in run.Tags()["tensors"]
        assert set(per_tensor) == {"dW1", "db1", "dW2", "db2", "dW3", "db3"}
        assert per_tensor["dW2"] == pytest.approx(299 / 301, rel=1e-6)
        assert max(v for k, v in per_tensor.items() if k != "dW2") < 1e-7
    torch_side = metrics(results, "gradient_checking", "torch")
    assert torch_side["correct"]["autograd_gradcheck_passed"] == 1
    assert torch_side["missing_1_over_m"]["autograd_gradcheck_passed"] == 0


# --- input_normalisation ----------------------------------------------------------------------


def test_input_normalisation_same_start_far_fewer_iterations(quick):
    X, Y = generators.make_moons(300, 0.2, seed=0)
    raw = np.vstack([X[0], 100 * X[1] + 50])
    normalised = (raw - raw.mean(axis=1, keepdims=True)) / raw.std(axis=1, keepdims=True)
    params = course_weights((2, 8, 1), 0)    # "xavier", RandomState(0): the course's randn / sqrt(n_prev)
    for impl in IMPLS:
        m = metrics(quick[0], "input_normalisation", impl)
        assert m["raw"]["feature_std_ratio"] == pytest.approx(raw.std(axis=1).max() / raw.std(axis=1).min(),
                                                              rel=1e-12)
        assert m["normalised"]["feature_std_ratio"] == pytest.approx(1.0, abs=1e-12)
        assert m["raw"]["initial_cost"] == pytest.approx(course_cost(params, raw, Y, np.tanh), rel=1e-12)
        assert m["normalised"]["initial_cost"] == pytest.approx(course_cost(params, normalised, Y, np.tanh),
                                                                rel=1e-12)
        assert m["normalised"]["reached_target"] == 1 and m["raw"]["reached_target"] == 0
        assert m["raw"]["iterations_to_target"] == 2000   # not reached: counted as the quick budget
        assert 3 * m["normalised"]["iterations_to_target"] <= 2000
        assert m["raw"]["cost_rises"] == m["normalised"]["cost_rises"] == 0


# --- what sides gives these experiments ------------------------------------------------------


def _dataset(m=40, seed=0):
    X, Y = generators.make_moons(m, 0.2, seed=seed)
    return datasets.generated("moons", (X, Y), seed=seed)


def test_both_sides_apply_the_same_given_masks_at_every_iteration():
    """Masks drawn once with NumPy, handed to both sides through iteration -> masks: the two
    trajectories are twins, and a different mask per iteration is honoured in order."""
    spec = sides.NetSpec((2, 6, 4, 1), "relu", "sigmoid", keep_probs=(0.7, 0.8))
    data = _dataset()
    params0 = spec.init_params("he", np.random.RandomState(2), "float64")
    drawn = [spec.numpy().draw_masks(data.train.m, np.random.RandomState(i), "float64") for i in range(6)]
    numpy_side = sides.NumpyNet(spec, params0, data, "float64", masks=lambda i: drawn[i])
    torch_side = sides.TorchNet(spec, params0, data, "float64", "cpu", masks=lambda i: drawn[i])
    costs = [side.gd(2, 0.1) + side.gd(4, 0.1) for side in (numpy_side, torch_side)]
    assert np.allclose(costs[0], costs[1], rtol=1e-13, atol=0)
    for key, value in numpy_side.params().items():
        assert np.allclose(torch_side.params()[key], value, rtol=1e-12, atol=1e-14), key
    # the same run by hand: iteration i with drawn[i] (scratch_numpy.models.train_gd's own masks=)
    _, by_hand = n_models.train_gd(spec.numpy(), params0, data.train.X, data.train.Y, 0.1, 6, masks=drawn)
    assert costs[0] == by_hand
    with pytest.raises(ValueError, match="mini-batch loop draws its own"):
        numpy_side.fit("gd", 0.1, {}, lambda epoch, history, live: None, epochs=1, batch_size=8)


def test_grads_leave_the_running_statistics_alone():
    """side.grads() measures; it is no training step: batch norm's running statistics (NumPy's
    network.state, torch's buffers) are what they were, and the two sides' gradients agree."""
    spec = sides.NetSpec((2, 5, 5, 1), "relu", "sigmoid", batch_norm=True)
    data = _dataset()
    params0 = spec.init_params("he", np.random.RandomState(0), "float64")
    numpy_side = sides.NumpyNet(spec, params0, data, "float64")
    torch_side = sides.TorchNet(spec, params0, data, "float64", "cpu")
    for side in (numpy_side, torch_side):
        side.gd(3, 0.1)
    state = {k: v.copy() for k, v in numpy_side.net.state.items()}
    buffers = {k: b.clone() for k, b in torch_side.model.named_buffers()}
    grads = numpy_side.grads(), torch_side.grads()
    assert set(grads[0]) == set(grads[1]) == {"dW1", "dgamma1", "dbeta1", "dW2", "dgamma2", "dbeta2", "dW3", "db3"}
    for key, value in grads[0].items():
        assert grads[1][key].shape == value.shape and np.allclose(grads[1][key], value, rtol=1e-10, atol=1e-14)
    assert all(np.array_equal(numpy_side.net.state[k], v) for k, v in state.items())
    assert all(torch.equal(b, buffers[k]) for k, b in torch_side.model.named_buffers())
    assert np.allclose(bridge.state_from_module(torch_side.model)["running_mean1"], state["running_mean1"], rtol=1e-12)


# --- the course's published figures at the full budget (30000 iterations) ---------------------


def test_regularisation_course_figures_at_the_full_budget(tmp_path):
    """The course's train/test accuracies, from its weights and masks, on its own points, on the NumPy
    side: the torch trajectories follow NumPy's to ~1e-15 (the quick pairs above; measured over the
    full 30000 iterations: parameters within 2e-10 for none, 1e-14 for L2 and dropout), and running
    them here would add about a minute (torch's per-iteration overhead on this tiny network)."""
    status, _, err = cli_run("run", "regularisation", "--impl", "numpy", "--logdir", tmp_path, "--data-dir",
                             course_data_dir(), "--device", "cpu")
    assert status == 0, err
    result = json.loads((tmp_path / "results.json").read_text())["regularisation"]
    assert result["course_data"] and not result["settings"]["quick"]
    published = {"none": (0.948, 0.915), "l2": (0.938, 0.93), "dropout": (0.929, 0.95)}   # course-values.md
    for row in result["variants"]:
        train, test = published[row["variant"]]
        values = row["metrics"]["numpy"]
        assert abs(values["train_accuracy"] - train) <= 1e-3 and abs(values["test_accuracy"] - test) <= 1e-3, row
    assert [c["verdicts"] for c in result["claims"]] == [{"numpy": True}] * len(result["claims"])

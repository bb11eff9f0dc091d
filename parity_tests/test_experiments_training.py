"""The practical-aspects experiments (vanishing_exploding, early_stopping, bias_variance,
hyperparameter_search) and the samplers of experiments.search.

The four experiments run once, --quick, both implementations, in the session's run all --quick
(conftest.quick_all: the real command in a subprocess, RuntimeWarnings as errors).
Every claim must hold on both sides, the sides must agree (float64), and the numbers are checked
against what can be known without the code under test: closed forms (c^(L-1) for the identity
chain, the law of the log-uniform sampler, Kolmogorov's critical values), independent statistics
(the label noise behind the Bayes error), the prefix structure of an early-stopped run, and the
course's diagnosis rule re-applied by hand. TensorBoard event files are read back with
EventAccumulator (per-layer gradient-norm tags, the hparams plugin's data, the diagnosis table).
"""

import math
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.plugins.hparams import plugin_data_pb2

from experiments import datasets, generators, search

REPO = Path(__file__).resolve().parents[1]
NAMES = ("vanishing_exploding", "early_stopping", "bias_variance", "hyperparameter_search")
IMPLS = ("numpy", "torch")
KEEP_ALL = {ea.SCALARS: 0, ea.TENSORS: 0, ea.IMAGES: 0, ea.HISTOGRAMS: 0}


@pytest.fixture(scope="module")
def quick(quick_all):
    """(results.json, logdir) of the session's one run all --quick (conftest.quick_all), which
    runs these four with the rest."""
    status, _, err, results, logdir = quick_all
    assert status == 0, err[-3000:]
    return results, logdir


def rows(results, name) -> dict:
    return {row["variant"]: row for row in results[name]["variants"]}


def metrics(results, name, impl="numpy") -> dict:
    """{variant: {metric: value}} of one experiment on one implementation."""
    return {v: row["metrics"][impl] for v, row in rows(results, name).items()}


def events(run_dir: Path) -> ea.EventAccumulator:
    accumulator = ea.EventAccumulator(str(run_dir), size_guidance=KEEP_ALL)
    accumulator.Reload()
    return accumulator


def scalars(accumulator, tag) -> dict:
    return {e.step: e.value for e in accumulator.Scalars(tag)}


def text(accumulator, tag) -> str:
    return accumulator.Tensors(f"{tag}/text_summary")[0].tensor_proto.string_val[0].decode()


# --- every experiment: claims on both sides, the sides agree ---------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_claim_holds_on_both_implementations(quick, name):
    results, logdir = quick
    result = results[name]
    assert result["settings"]["quick"] and result["devices"] == {"numpy": "cpu", "torch": "cpu"}
    assert result["claims"], name
    for claim in result["claims"]:
        assert not claim["full_budget"], claim["text"]
        assert claim["verdicts"] == {"numpy": True, "torch": True}, (name, claim)
    for variant in rows(results, name):
        for impl in IMPLS:
            assert list((logdir / name / variant / impl).glob("events.out.tfevents.*")), (variant, impl)


@pytest.mark.parametrize("name", NAMES)
def test_the_two_implementations_agree_in_float64(quick, name):
    """Every metric within 1e-9 relative; cost trajectories and final parameters (where there are
    some) within 1e-8 relative to their largest entry (float64 rounding grows through Adam's steps
    on the 50-unit networks: 1e-12 measured after 100 steps, 2e-10 after 150)."""
    results, _ = quick
    for variant, row in rows(results, name).items():
        a, b = row["metrics"]["numpy"], row["metrics"]["torch"]
        assert a.keys() == b.keys(), variant
        for key in a:
            assert abs(a[key] - b[key]) <= 1e-9 * max(1.0, abs(a[key])), (variant, key, a[key], b[key])
        for key in ("cost", "params"):
            if key in row["divergence"]:
                assert row["divergence"][key] < 1e-8, (variant, key, row["divergence"][key])


# --- vanishing_exploding -------------------------------------------------------------------


def identity_closed_form(c, depth, X, Y):
    """||dA_{l-1}|| = c^(L-l+1) ||sigmoid(c^L x_1) - y|| for W_l = c I, linear units (written
    here from the chain rule, independently of the experiment)."""
    z = c ** depth * X[0]
    p = np.exp(-np.logaddexp(0.0, -z))   # sigmoid(z) = 1 / (1 + e^-z), without overflow
    g = np.linalg.norm(p - Y[0])
    return np.array([c ** (depth - l + 1) * g for l in range(1, depth + 1)])


@pytest.mark.parametrize("c", [1.5, 0.5])
def test_identity_chain_gradients_follow_c_to_the_depth(quick, c):
    """ratio ||dA_0|| / ||dA_(L-1)|| = c^(L-1) to 1e-9, and the logged profile (float32 scalars)
    is the closed form to 1e-6 on both sides."""
    results, logdir = quick
    name = f"identity-{c}"
    depth = rows(results, "vanishing_exploding")[name]["hparams"]["depth"]
    moons = datasets.toy_set("moons", datasets.resolve_data_dir())
    expected = identity_closed_form(c, depth, moons.train.X, moons.train.Y)
    for impl in IMPLS:
        m = metrics(results, "vanishing_exploding", impl)[name]
        assert m["grad_ratio"] == pytest.approx(c ** (depth - 1), rel=1e-9)
        logged = scalars(events(logdir / "vanishing_exploding" / name / impl),
                         f"vanishing_exploding/{name}/grad_norm_A/layer")
        got = np.array([logged[l] for l in range(1, depth + 1)])
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_scaled_he_grows_or_shrinks_by_c_per_layer_and_he_stays_flat(quick):
    """For random ReLU layers E||relu(W a)||^2 = c^2 ||a||^2 when W = c * He: the fitted growth
    per layer is c (within 10 %) and the first/last ratio is on the order of c^(L-1)."""
    results, _ = quick
    for impl in IMPLS:
        m = metrics(results, "vanishing_exploding", impl)
        depth = rows(results, "vanishing_exploding")["he"]["hparams"]["depth"]
        for name, c in (("he-x1.5", 1.5), ("he-x0.5", 0.5), ("he", 1.0)):
            assert m[name]["growth_per_layer"] == pytest.approx(c, rel=0.1), (impl, name)
            # log10 of the ratio within 2 decades of (L-1) log10 c
            assert abs(m[name]["log10_grad_ratio"] - (depth - 1) * math.log10(c)) < 2, (impl, name)


def test_per_layer_gradient_norm_tags_on_both_implementations(quick):
    """The profiles against the layer (<experiment>/<variant>/grad_norm_A/layer, grad_norm_W,
    activation_norm) and the figure, on both sides, with the same values (float32 storage)."""
    results, logdir = quick
    for variant, row in rows(results, "vanishing_exploding").items():
        depth = row["hparams"]["depth"]
        prefix = f"vanishing_exploding/{variant}"
        wanted = {f"{prefix}/{q}/layer" for q in ("grad_norm_A", "grad_norm_W", "activation_norm")}
        runs = {impl: events(logdir / "vanishing_exploding" / variant / impl) for impl in IMPLS}
        for impl, run in runs.items():
            assert wanted <= set(run.Tags()["scalars"]), (variant, impl, wanted - set(run.Tags()["scalars"]))
        assert any(t.startswith(f"{prefix}/figure/") for t in runs["torch"].Tags()["images"])
        for tag in (f"{prefix}/grad_norm_A/layer", f"{prefix}/grad_norm_W/layer"):
            a, b = scalars(runs["numpy"], tag), scalars(runs["torch"], tag)
            assert a.keys() == b.keys() == set(range(1, depth + 1))
            np.testing.assert_allclose([b[k] for k in a], list(a.values()), rtol=1e-6)


# --- early_stopping -----------------------------------------------------------------------


def test_early_stopping_is_a_prefix_of_the_run_without_it(quick):
    """Same weights and batches: the early-stopped run's per-epoch dev accuracy and cost are the
    first epochs of the full run's; it stopped exactly `patience` epochs after its best; its best
    is the full run's best when that came before the stop, else worse than it."""
    results, logdir = quick
    row = rows(results, "early_stopping")
    stopping = next(v for v in row if v != "no-stopping")
    patience = row[stopping]["hparams"]["patience"]
    for impl in IMPLS:
        m = metrics(results, "early_stopping", impl)
        es, full = m[stopping], m["no-stopping"]
        stop = int(es["epochs_run"])
        assert stop == es["best_epoch"] + 1 + patience and stop < full["epochs_run"]
        short, long = (events(logdir / "early_stopping" / v / impl) for v in (stopping, "no-stopping"))
        for tag in ("accuracy/dev/epoch", "accuracy/train/epoch"):   # the variant's own tags, same steps
            a = scalars(short, f"early_stopping/{stopping}/{tag}")
            b = scalars(long, f"early_stopping/no-stopping/{tag}")
            assert sorted(a) == list(range(stop)), tag
            assert all(a[k] == b[k] for k in a), tag
        if full["best_epoch"] < stop:
            assert (es["best_epoch"], es["best_dev_cost"]) == (full["best_epoch"], full["best_dev_cost"])
        else:
            assert es["best_dev_cost"] > full["best_dev_cost"]
        # the returned parameters are the best epoch's: its dev cost, not the last epoch's
        assert es["dev_cost"] == es["best_dev_cost"] and full["dev_cost"] > full["best_dev_cost"]
        assert es["test_cost"] <= full["test_cost"]


# --- bias_variance -------------------------------------------------------------------------


def test_the_label_noise_makes_the_bayes_error_ten_percent():
    """The clean circles (radii 1 and 0.5, noise 0.05) are separated by r = 0.75, so the best
    classifier errs exactly on the flipped labels: their share of the 1000 dev points is
    0.1 within 3 standard errors (sqrt(0.1 * 0.9 / 1000) = 0.0095)."""
    from experiments.catalog import bias_variance

    X, Y_clean = generators.make_circles(1000, 0.05, seed=2, factor=0.5)
    inside = np.hypot(X[0], X[1]) < 0.75
    assert np.array_equal(inside.astype(np.int64), Y_clean[0])          # separable by r = 0.75
    X_noisy, Y = bias_variance.noisy_circles(1000, 2)
    assert np.array_equal(X_noisy, X)
    flipped = (Y != Y_clean).mean()
    assert abs(flipped - 0.1) < 3 * math.sqrt(0.1 * 0.9 / 1000)


def test_the_diagnosis_follows_the_course_rule(quick):
    """Re-applied by hand: high bias when train error - 0.1 > 0.02, high variance when
    dev error - train error > 0.02; errors are 1 - accuracies."""
    results, _ = quick
    for impl in IMPLS:
        for variant, m in metrics(results, "bias_variance", impl).items():
            assert m["train_error"] == pytest.approx(1 - m["train_accuracy"], abs=1e-12)
            assert m["dev_error"] == pytest.approx(1 - m["dev_accuracy"], abs=1e-12)
            assert m["high_bias"] == float(m["train_error"] - 0.1 > 0.02), (impl, variant)
            assert m["high_variance"] == float(m["dev_error"] - m["train_error"] > 0.02), (impl, variant)


def test_the_diagnosis_table_and_hparams_are_logged(quick):
    results, logdir = quick
    variants = list(rows(results, "bias_variance"))
    for impl in IMPLS:
        table = text(events(logdir / "bias_variance" / variants[-1] / impl),
                     f"bias_variance/{variants[-1]}/diagnosis_table")
        for variant in variants:
            assert f"| {variant} |" in table, (impl, variant)
        for variant in variants:
            run = events(logdir / "bias_variance" / variant / impl)   # the hparams are in the run itself
            start = plugin_data_pb2.HParamsPluginData.FromString(
                run.PluginTagToContent("hparams")["_hparams_/session_start_info"]).session_start_info
            assert {"impl", "experiment", "variant", "hidden", "l2_lambda"} <= set(start.hparams)
            assert {"bias_variance/hparams/high_bias/run", "bias_variance/hparams/high_variance/run"} <= \
                set(run.Tags()["scalars"])


# --- hyperparameter_search -------------------------------------------------------------------


def test_search_budget_and_distinct_values(quick):
    """A k x k grid tries k values per axis (10^{-4,-2,0}; 1 - 10^{-3,-2,-1}); k^2 random trials
    try k^2; the trials are the same on both sides (drawn once)."""
    results, _ = quick
    row = rows(results, "hyperparameter_search")
    grid = [v for v in row if v.startswith("grid-")]
    k = math.isqrt(len(grid))
    assert k * k == len(grid) == len([v for v in row if v.startswith("random-")])
    assert sorted({row[v]["hparams"]["lr"] for v in grid}) == pytest.approx([1e-4, 1e-2, 1.0])
    assert sorted({row[v]["hparams"]["beta"] for v in grid}) == pytest.approx([0.9, 0.99, 0.999])
    m_np, m_th = (metrics(results, "hyperparameter_search", impl) for impl in IMPLS)
    for stage in ("random", "fine"):
        names = [v for v in row if v.startswith(f"{stage}-")]
        assert len({m_np[v]["lr"] for v in names}) == len({m_np[v]["beta"] for v in names}) == len(names)
        assert [m_np[v]["lr"] for v in names] == [m_th[v]["lr"] for v in names]
    for v in (v for v in row if v.startswith("fine-")):
        assert m_np[v]["box_lr_low"] <= m_np[v]["log10_lr"] <= m_np[v]["box_lr_high"]
        assert m_np[v]["box_omb_low"] <= m_np[v]["log10_one_minus_beta"] <= m_np[v]["box_omb_high"]
        assert m_np[v]["box_lr_high"] - m_np[v]["box_lr_low"] == pytest.approx(4 / 4)       # 4 decades / 4
        assert m_np[v]["box_omb_high"] - m_np[v]["box_omb_low"] == pytest.approx(2 / 4)     # 2 decades / 4


def test_every_search_trial_is_in_the_hparams_plugin(quick):
    """Each trial's run holds, itself (no sub-run), the hparams plugin data of the trial's
    hyperparameters and its metrics as scalars (hyperparameter_search/hparams/dev_cost/run, ...)."""
    results, logdir = quick
    for variant, row in rows(results, "hyperparameter_search").items():
        for impl in IMPLS:
            run = events(logdir / "hyperparameter_search" / variant / impl)   # in the run itself
            content = run.PluginTagToContent("hparams")
            assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(content)
            start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
            logged = start.session_start_info.hparams
            assert logged["stage"].string_value == row["hparams"]["stage"]
            if row["hparams"]["stage"] != "fine":
                assert logged["lr"].number_value == row["hparams"]["lr"]
                assert logged["beta"].number_value == row["hparams"]["beta"]
            dev_cost = run.Scalars("hyperparameter_search/hparams/dev_cost/run")[0].value
            assert dev_cost == pytest.approx(row["metrics"][impl]["dev_cost"], rel=1e-6)


# --- the samplers (experiments.search) -------------------------------------------------------

N = 20_000


def test_log_uniform_follows_its_law():
    """log10 x ~ U(-4, 0): KS not rejected, mean -2 and variance 16/12 within 4 standard errors;
    E[x] = (10^b - 10^a) / ((b - a) ln 10) = 0.1085 within 4 standard errors."""
    x = search.log_uniform(np.random.default_rng(1), -4, 0, N)
    u = np.log10(x)
    assert u.min() >= -4 and u.max() < 0
    assert search.ks_pvalue(search.ks_uniform(u, -4, 0), N) > 1e-3
    assert abs(u.mean() + 2) < 4 * math.sqrt(16 / 12 / N)
    assert abs(u.var() - 16 / 12) < 4 * math.sqrt((256 / 80 - (16 / 12) ** 2) / N)   # Var(u^2) = E u^4 - (E u^2)^2
    mean = (1 - 1e-4) / (4 * math.log(10))
    assert abs(x.mean() - mean) < 4 * x.std() / math.sqrt(N)
    # each decade gets a quarter of the draws (a uniform lr would put 90 % in [0.1, 1))
    counts = np.histogram(u, bins=[-4, -3, -2, -1, 0])[0] / N
    assert np.abs(counts - 0.25).max() < 4 * math.sqrt(0.25 * 0.75 / N)


def test_uniform_learning_rates_fail_the_log_scale_test():
    """The contrast the course draws: lr ~ U(1e-4, 1) puts ~90 % of draws in the top decade;
    the KS test rejects log-uniformity outright."""
    x = np.random.default_rng(2).uniform(1e-4, 1, N)
    assert search.ks_pvalue(search.ks_uniform(np.log10(x), -4, 0), N) < 1e-12
    assert (x >= 0.1).mean() > 0.89


def test_one_minus_beta_on_a_log_scale():
    """beta = 1 - 10^U(-3, -1): log10(1 - beta) passes KS; half the betas are in [0.9, 0.99),
    half in [0.99, 0.999] (within 4 standard errors)."""
    beta = search.one_minus_log(np.random.default_rng(3), -3, -1, N)
    u = np.log10(1 - beta)
    assert search.ks_pvalue(search.ks_uniform(u, -3, -1), N) > 1e-3
    assert 0.9 < beta.min() and beta.max() < 0.999 + 1e-12
    assert abs((beta < 0.99).mean() - 0.5) < 4 * math.sqrt(0.25 / N)


def test_grid_and_log_grid_closed_forms():
    np.testing.assert_allclose(search.log_grid(-4, 0, 3), [1e-4, 1e-2, 1.0], rtol=1e-15)
    np.testing.assert_allclose(search.log_grid(-3, -1, 5), 10.0 ** np.array([-3, -2.5, -2, -1.5, -1]), rtol=1e-15)
    for k in (2, 3, 4):
        pairs = search.grid(search.log_grid(-4, 0, k), search.log_grid(-3, -1, k))
        assert len(pairs) == k * k == len(set(pairs))
        assert len({a for a, _ in pairs}) == len({b for _, b in pairs}) == k
        draws = search.log_uniform(np.random.default_rng(k), -4, 0, k * k)
        assert len(set(draws)) == k * k


def test_ks_statistic_and_pvalue_closed_forms():
    """D of the midpoints (i - 1/2) / n is 1 / (2n); of n equal samples at a, 1. The p-value is
    Kolmogorov's tail: 0.05 at t = 1.358, 0.01 at t = 1.628 (its critical values)."""
    n = 50
    assert search.ks_uniform((np.arange(1, n + 1) - 0.5) / n, 0, 1) == pytest.approx(1 / (2 * n))
    assert search.ks_uniform(np.full(n, 2.0), 2, 3) == 1.0
    assert search.ks_uniform([2.5], 2, 3) == 0.5
    big = 10 ** 6
    scale = math.sqrt(big) + 0.12 + 0.11 / math.sqrt(big)
    assert search.ks_pvalue(1.358 / scale, big) == pytest.approx(0.05, abs=5e-4)
    assert search.ks_pvalue(1.628 / scale, big) == pytest.approx(0.01, abs=2e-4)
    assert search.ks_pvalue(0.0, 10) == 1.0


def test_zoom_is_a_narrower_box_around_the_best():
    assert search.zoom(-2.0, -4, 0, 4) == (-2.5, -1.5)
    assert search.zoom(-0.1, -4, 0, 4) == (-1.0, 0.0)          # pushed back inside at the top
    assert search.zoom(-3.9, -4, 0, 2) == (-4.0, -2.0)         # and at the bottom
    with pytest.raises(ValueError, match="a <= best <= b"):
        search.zoom(1.0, -4, 0, 4)
    with pytest.raises(ValueError, match="finite a < b"):
        search.log_uniform(np.random.default_rng(0), 0, -4, 3)

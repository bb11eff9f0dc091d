"""Inverted dropout: A * D / keep_prob in training, the identity at test time.

Parity with one mask given to both sides (drawn with NumPy, or torch's own
recovered under a seed), in a layer and in networks; the expected activation
is preserved (statistically, with a tolerance computed from the variance);
dropout is off in eval mode and at prediction; keep_prob outside (0, 1] is a
ValueError. Then the conventions: torch's p is the drop probability, the two
operation orders differ by at most one ulp, and the generators never agree.
"""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from parity_tests import twins
from reference_torch import bridge
from reference_torch import dropout as t_dropout
from reference_torch import models as t_models
from scratch_numpy import dropout as n_dropout
from scratch_numpy import models as n_models

DTYPES = ["float64", "float32"]
Z_BOUND = 5.0   # a standard normal exceeds 5 with probability 6e-7: the statistical checks do not flake


def _id(value):
    """Test ids without spaces: (5, 6, 1) -> 5-6-1."""
    return "-".join(map(str, value)) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, keep_prob", [((6, 9), 0.7), ((1, 1), 0.5), ((30, 64), 0.9), ((5, 3), 1.0)],
                         ids=_id)
def test_layer_parity_with_a_shared_numpy_mask(shape, keep_prob, dtype, device):
    for seed in range(3):
        twins.dropout.dropout_layer(dtype=dtype, shape=shape, keep_prob=keep_prob, seed=seed,
                                      device=device).assert_passed()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keep_prob", [0.5, 0.8])
def test_layer_parity_with_torchs_own_mask_recovered(keep_prob, dtype, device):
    for seed in range(3):
        report = twins.dropout.dropout_layer(dtype=dtype, shape=(7, 40), keep_prob=keep_prob, seed=seed,
                                               device=device, mask_from="torch")
        report.assert_passed()
        assert report.diffs[0].name == "D" and report.diffs[0].max_abs == 0   # recovered exactly


ARCHITECTURES = [((5, 6, 4, 1), "relu", "sigmoid", (0.8, 0.6)), ((4, 10, 3), "tanh", "softmax", 0.5),
                 ((6, 8, 8, 4), "leaky_relu", "linear", (1.0, 0.7))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims, hidden, output, keep_probs", ARCHITECTURES, ids=_id)
def test_network_parity_with_shared_masks(dims, hidden, output, keep_probs, dtype, device):
    for seed in range(2):
        twins.models.network_step(dims, hidden, output, keep_probs=keep_probs, dtype=dtype, seed=seed,
                                     device=device).assert_passed()
    twins.models.options_trajectory(dims, hidden, output, keep_probs=keep_probs, dtype=dtype, device=device,
                                       steps=30).assert_passed()


# --- expected activation ----------------------------------------------------------------------

def _z_scores(A, out, D, keep_prob):
    """How many standard deviations sum(out) is from sum(A) and mean(D) from keep_prob.

    Each out_ij - A_ij = A_ij (D_ij / k - 1) has mean 0 and variance A_ij^2 (1 - k) / k,
    independently, so sum(out - A) has standard deviation sqrt(sum A^2 (1 - k) / k).
    """
    A, out, D = (np.asarray(x, dtype=np.float64) for x in (A, out, D))
    sigma_sum = math.sqrt(float((A ** 2).sum()) * (1 - keep_prob) / keep_prob)
    sigma_kept = math.sqrt(keep_prob * (1 - keep_prob) / D.size)
    return abs(float((out - A).sum())) / sigma_sum, abs(float(D.mean()) - keep_prob) / sigma_kept


@pytest.mark.parametrize("keep_prob", [0.2, 0.5, 0.8, 0.95])
def test_expected_activation_is_preserved_numpy(keep_prob):
    rng = np.random.default_rng(0)
    for seed in range(3):
        A = rng.standard_normal((100, 400)) + 1.0
        out, cache = n_dropout.dropout_forward(A, keep_prob, rng=seed)
        z_sum, z_kept = _z_scores(A, out, cache.mask, keep_prob)
        assert z_sum < Z_BOUND and z_kept < Z_BOUND, (z_sum, z_kept)
        kept = cache.mask == 1
        np.testing.assert_allclose(out[kept], A[kept] / keep_prob, rtol=1e-15)   # survivors scaled by 1/k
        assert not out[~kept].any()


@pytest.mark.parametrize("keep_prob", [0.2, 0.5, 0.8, 0.95])
def test_expected_activation_is_preserved_torch(keep_prob):
    rng = np.random.default_rng(1)
    for seed in range(3):
        A = torch.tensor(rng.standard_normal((400, 100)) + 1.0)
        out = t_dropout.dropout(A, keep_prob, seed=seed)
        z_sum, z_kept = _z_scores(A, out, out != 0, keep_prob)
        assert z_sum < Z_BOUND and z_kept < Z_BOUND, (z_sum, z_kept)


def test_the_z_scores_detect_a_missing_rescale():
    """The statistical check has power: forgetting the / keep_prob is over 50 standard deviations off
    (sum(A D - A) ~ -(1 - k) sum A = -8000 against sigma ~ 140)."""
    A = np.random.default_rng(2).standard_normal((100, 400)) + 1.0
    D = n_dropout.draw_mask(A.shape, 0.8, rng=3)
    assert _z_scores(A, A * D, D, 0.8)[0] > 10 * Z_BOUND


# --- off at test time -------------------------------------------------------------------------

def test_off_in_eval_mode_and_at_keep_prob_one():
    A = np.random.default_rng(0).standard_normal((4, 6))
    D = np.zeros_like(A)    # would zero everything if it were applied
    for kwargs in ({"train": False, "mask": D}, {"train": False}, {"mask": None}):
        keep = 1.0 if kwargs == {"mask": None} else 0.5
        out, cache = n_dropout.dropout_forward(A, keep, **kwargs)
        assert out is A and cache.mask is None
        dout = np.ones_like(A) * 3
        assert n_dropout.dropout_backward(dout, cache) is dout
    At = torch.tensor(A)
    assert t_dropout.dropout(At, 0.5, mask=torch.tensor(D), train=False) is At
    assert t_dropout.dropout(At, 1.0) is At


def _dropout_networks(dtype="float64"):
    kw = dict(layer_dims=(5, 7, 6, 3), hidden_activation="relu", output="softmax")
    net, plain = n_models.Network(**kw, keep_probs=0.5, dropout_rng=0), n_models.Network(**kw)
    params = net.init_params("he", 1, dtype)
    model = t_models.Network(**kw, keep_probs=0.5, dtype=bridge.resolve_dtype(dtype))
    bridge.params_to_module(params, model)
    X = np.random.default_rng(2).standard_normal((5, 40)).astype(dtype)
    return net, plain, params, model, X


def test_never_applied_at_prediction_or_in_a_test_time_pass():
    net, plain, params, model, X = _dropout_networks()
    AL_plain, _ = plain.forward(params, X)
    for _ in range(3):   # no randomness: every call is the plain network
        np.testing.assert_array_equal(net.forward(params, X)[0], AL_plain)
        np.testing.assert_array_equal(net.predict(params, X), plain.predict(params, X))
    Y = plain.predict(params, X)
    assert net.cost(params, X, Y, train=False) == plain.cost(params, X, Y)
    assert net.cost(params, X, Y) != plain.cost(params, X, Y)     # the training pass does drop


def test_torch_eval_mode_is_off_and_predict_restores_the_mode():
    net, plain, params, model, X = _dropout_networks()
    Xt = bridge.data_to_torch(X)
    assert model.training
    np.testing.assert_array_equal(model.predict(Xt).numpy(), plain.predict(params, X)[0])
    assert model.training                                         # predict switched to eval and back
    model.eval()
    np.testing.assert_allclose(model(Xt).detach().numpy().T, plain.forward(params, X)[0], rtol=1e-13)
    model.train()
    assert not torch.equal(model(Xt), model(Xt))                  # training mode draws fresh masks


# --- bad input --------------------------------------------------------------------------------

BAD_KEEP_PROBS = [0, 0.0, -0.1, 1.5, float("nan"), float("inf"), "0.5", True, None]


@pytest.mark.parametrize("keep_prob", BAD_KEEP_PROBS, ids=repr)
def test_keep_prob_outside_zero_one_is_an_error(keep_prob):
    A = np.ones((2, 3))
    builds = [
        lambda: n_dropout.dropout_forward(A, keep_prob),
        lambda: n_dropout.dropout_forward(A, keep_prob, train=False),   # checked even when off
        lambda: n_dropout.draw_mask((2, 3), keep_prob, rng=0),
        lambda: t_dropout.dropout(torch.tensor(A), keep_prob),
        lambda: t_dropout.recover_mask((3, 2), keep_prob, seed=0),
    ]
    for build in builds:
        with pytest.raises(ValueError, match=r"keep_prob.*\(0, 1\]"):
            build()
    if keep_prob is not None:   # None means "no dropout" for the networks
        for cls in (n_models.Network, t_models.Network):
            with pytest.raises(ValueError, match=r"keep_probs.*\(0, 1\]"):
                cls([2, 3, 1], keep_probs=keep_prob)
            with pytest.raises(ValueError, match=r"keep_probs\[1\].*\(0, 1\]"):
                cls([2, 3, 3, 1], keep_probs=[0.5, keep_prob])


@pytest.mark.parametrize("cls", [n_models.Network, t_models.Network])
def test_keep_probs_needs_one_per_hidden_layer(cls):
    with pytest.raises(ValueError, match=r"keep_probs.*one keep_prob per hidden layer \(2\)"):
        cls([2, 3, 3, 1], keep_probs=[0.5])


def test_bad_masks_are_errors_naming_them():
    A = np.ones((2, 3))
    for mask, match in ((np.ones((3, 2)), r"mask.*shape \(2, 3\)"), (np.full((2, 3), 0.5), r"mask.*only 0 and 1"),
                        ([[1, 0, 1], [1, 1, 0]], r"mask.*numpy array")):
        with pytest.raises(ValueError, match=match):
            n_dropout.dropout_forward(A, 0.5, mask=mask)
    with pytest.raises(ValueError, match=r"mask.*shape \(3, 2\)"):
        t_dropout.dropout(torch.ones(3, 2), 0.5, mask=torch.ones(2, 3))
    net, _, params, model, X = _dropout_networks()
    Y = np.zeros((1, 40), dtype=np.int64)
    with pytest.raises(ValueError, match=r"masks must hold exactly \['D1', 'D2'\]"):
        net.loss(params, X, Y, masks={"D1": np.ones((7, 40))})
    with pytest.raises(ValueError, match=r"masks\['D2'\].*shape \(6, 40\)"):
        net.loss(params, X, Y, masks={"D1": np.ones((7, 40)), "D2": np.ones((6, 39))})
    with pytest.raises(ValueError, match=r"masks\['D1'\].*shape \(40, 7\)"):
        model.cost(bridge.data_to_torch(X), torch.zeros(40, dtype=torch.int64),
                   masks={"D1": torch.ones(7, 40, dtype=torch.float64), "D2": torch.ones(40, 6)})
    with pytest.raises(ValueError, match=r"cache.*DropoutCache"):
        n_dropout.dropout_backward(A, (A, 0.5))


# --- conventions (CONVENTIONS.md) ---------------------------------------------------

def test_torch_p_is_the_drop_probability():
    """F.dropout(x, p): a unit is DROPPED with probability p and survivors are scaled by
    1 / (1 - p), so the course's keep_prob is 1 - p (cs231n's own ``p`` is the keep probability)."""
    keep_prob = 0.8
    with t_dropout.seeded(0):
        out = F.dropout(torch.ones(500, 400, dtype=torch.float64), p=1 - keep_prob, training=True)
    dropped = float((out == 0).double().mean())
    assert abs(dropped - (1 - keep_prob)) < Z_BOUND * math.sqrt(keep_prob * (1 - keep_prob) / out.numel())
    assert set(out.unique().tolist()) == {0.0, 1 / (1 - (1 - keep_prob))}


def test_course_order_and_torch_order_differ_by_at_most_one_ulp():
    """The course computes (A * D) / keep_prob; torch's CPU kernel A * (D / keep_prob)."""
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        A = rng.standard_normal((200, 300)).astype(dtype)
        D = n_dropout.draw_mask(A.shape, 0.7, rng, dtype)
        course, torch_order = A * D / 0.7, A * (D / dtype(0.7))
        ulps = np.abs(course - torch_order) / np.spacing(np.abs(torch_order).astype(dtype))
        assert ulps.max() <= 1 and (course != torch_order).any()


def test_recovered_mask_reproduces_f_dropout():
    """F.dropout under a seed draws the mask recover_mask read off ones: torch's result is
    x * (D / keep_prob) bit for bit, the NumPy side's with D within one ulp."""
    x = torch.tensor(np.random.default_rng(0).standard_normal((30, 20)))
    D = t_dropout.recover_mask((30, 20), 0.6, seed=7)
    with t_dropout.seeded(7):
        out = F.dropout(x, p=0.4, training=True)
    assert torch.equal(out, x * (D / 0.6))
    numpy_out, _ = n_dropout.dropout_forward(x.numpy().T, 0.6, mask=D.numpy().T)
    np.testing.assert_allclose(numpy_out.T, out.numpy(), rtol=2.3e-16, atol=0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_seeded_dropout_of_a_non_contiguous_tensor_draws_the_recovered_mask(dtype):
    """dropout(A, keep_prob, seed=s) of a transposed or strided A applies recover_mask(A.shape, keep_prob, s),
    as for a contiguous A (F.dropout on A itself fills its noise in A's memory order and drew another
    mask), and the NumPy side given that mask agrees exactly (keep_prob 0.5: every product is exact)."""
    base = torch.tensor(np.random.default_rng(1).standard_normal((8, 5)), dtype=dtype)
    for A in (base.T, base[::2], base.T[:, 1:]):
        assert not A.is_contiguous()
        D = t_dropout.recover_mask(tuple(A.shape), 0.5, seed=3, dtype=dtype)
        out = t_dropout.dropout(A, 0.5, seed=3)
        assert torch.equal(out, A * (D / 0.5))
        assert torch.equal(out, t_dropout.dropout(A.contiguous(), 0.5, seed=3))
        numpy_out, _ = n_dropout.dropout_forward(A.numpy().T, 0.5, mask=D.numpy().T)
        np.testing.assert_array_equal(numpy_out.T, out.numpy())


def test_the_two_generators_never_draw_the_same_mask():
    """Seeding both sides alike is no substitute for sharing the mask."""
    for seed in (0, 1, 42):
        numpy_mask = n_dropout.draw_mask((50, 40), 0.5, rng=seed)
        torch_mask = t_dropout.recover_mask((40, 50), 0.5, seed=seed).numpy().T
        assert (numpy_mask != torch_mask).mean() > 0.3


def test_a_random_state_reproduces_the_course_draw():
    """draw_mask(rng=RandomState(s)) is the course's np.random.seed(s); D = np.random.rand(...) < keep_prob."""
    np.random.seed(1)
    course = (np.random.rand(5, 7) < 0.8).astype(np.float64)
    np.testing.assert_array_equal(n_dropout.draw_mask((5, 7), 0.8, rng=np.random.RandomState(1)), course)


def _train_gd_with_masks(masks, iterations):
    net, _, params, _, _ = _dropout_networks()
    return n_models.train_gd(net, params, np.ones((5, 4)), np.zeros((1, 4), np.int64), 0.1, iterations, masks=masks)


@pytest.mark.parametrize("build, match", [
    pytest.param(lambda: n_dropout.dropout_forward(np.ones((2, 3)), 0.5, train=1), r"train must be True or False",
                 id="numpy train 1"),
    pytest.param(lambda: t_dropout.dropout(torch.ones(2, 3), 0.5, train=None), r"train must be True or False",
                 id="torch train None"),
    pytest.param(lambda: t_dropout.recover_mask(4, 0.5, seed=0), r"shape must be a tuple", id="recover shape int"),
    pytest.param(lambda: t_dropout.recover_mask((4, 0), 0.5, seed=0), r"shape\[1\]", id="recover shape 0"),
    pytest.param(lambda: t_dropout.recover_mask((4, 2), 0.5, seed=-1), r"seed", id="recover seed -1"),
    pytest.param(lambda: bridge.masks_to_torch([np.ones((2, 3))]), r"masks must be a dict", id="masks list"),
    pytest.param(lambda: bridge.masks_to_torch({"D1": np.ones(3)}), r"masks\['D1'\] must be a 2-D", id="mask 1-D"),
    pytest.param(lambda: _train_gd_with_masks([np.ones((7, 4))], 1), r"masks must be a dict",
                 id="network masks list"),
    pytest.param(lambda: _train_gd_with_masks([{}], 2), r"masks must be None or a list of 2",
                 id="train_gd masks length"),
    pytest.param(lambda: n_models.Network([2, 3, 1], dropout_rng="seed"), r"rng", id="dropout_rng str"),
])
def test_more_bad_input_is_a_value_error_naming_the_argument(build, match):
    with pytest.raises(ValueError, match=match):
        build()

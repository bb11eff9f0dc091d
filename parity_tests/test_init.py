"""Weight initialisers on both sides: the course's scales, one distribution, rng handling.

The course (deep-learning specialisation, course 2 week 1, and course 1 weeks 3-4)
draws W_l = randn(n_l, n_{l-1}) * scale with

    small   0.01                      large   10
    xavier  sqrt(1 / n_prev)          he      sqrt(2 / n_prev)
    glorot  sqrt(2 / (n_prev + n))    zeros   0

and b_l = 0. NumPy's and torch's generators never draw the same numbers, so the
two sides are compared as distributions: the sample std against the formula
(within 6 standard errors of a sample std, sigma / sqrt(2 (N - 1))) and a
two-sample Kolmogorov-Smirnov test between a NumPy draw and a torch draw.
"""

import math

import numpy as np
import pytest
import torch

from reference_torch import init as t_init
from reference_torch import models as t_models
from scratch_numpy import init as n_init
from scratch_numpy import models as n_models

RANDOM_METHODS = tuple(m for m in n_init.METHODS if m != "zeros")

# One layer of 400 x 500 = 200,000 weights: n_prev = 500 != n = 400, so a
# fan-in / fan-out mix-up changes the std by 12 % (xavier, he) or 5 % (glorot)
# while 6 SE of the sample std is 0.95 %.
BIG = [500, 400]
# Several layers of unequal sizes for the per-layer checks.
DEEP = [300, 400, 500, 1]

COURSE_STD = {
    "small": lambda n_prev, n: 0.01,
    "large": lambda n_prev, n: 10.0,
    "xavier": lambda n_prev, n: math.sqrt(1.0 / n_prev),
    "he": lambda n_prev, n: math.sqrt(2.0 / n_prev),
    "glorot": lambda n_prev, n: math.sqrt(2.0 / (n_prev + n)),
}

KS_ALPHA = 1e-6


def to_np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def assert_course_normal(W, sigma: float, what: str, k: float = 6.0):
    """Mean within k SE of 0 and sample std within k SE of sigma, N = W.size samples.

    SE(mean) = sigma / sqrt(N); SE(std) = sigma / sqrt(2 (N - 1)) for normal samples.
    """
    w = to_np(W).astype(np.float64).ravel()
    n = w.size
    se_mean = sigma / math.sqrt(n)
    se_std = sigma / math.sqrt(2 * (n - 1))
    mean, std = w.mean(), w.std(ddof=1)
    assert abs(mean) <= k * se_mean, (
        f"{what}: mean {mean:.3e} is {abs(mean) / se_mean:.1f} SE from 0 (N = {n}, sigma = {sigma:.4g})")
    assert abs(std - sigma) <= k * se_std, (
        f"{what}: sample std {std:.6g} is {abs(std - sigma) / se_std:.1f} SE from the course's "
        f"{sigma:.6g} (N = {n}, relative error {std / sigma - 1:+.3%}, 6 SE = {k * se_std / sigma:.3%})")


def ks_statistic(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov D = sup_x |F_a(x) - F_b(x)|, NumPy only."""
    a = np.sort(np.asarray(a, dtype=np.float64).ravel())
    b = np.sort(np.asarray(b, dtype=np.float64).ravel())
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(np.abs(cdf_a - cdf_b).max())


def ks_critical(n1: int, n2: int, alpha: float = KS_ALPHA) -> float:
    """D_crit = c(alpha) sqrt((n1 + n2) / (n1 n2)) with c(alpha) = sqrt(-ln(alpha / 2) / 2)."""
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n1 + n2) / (n1 * n2))


def numpy_draw(method, dims=BIG, seed=0, dtype="float64"):
    return n_init.initialize_parameters(dims, method, seed, dtype)


def torch_draw(method, dims=BIG, seed=0, dtype=torch.float64):
    return t_init.initialize_parameters(dims, method, torch.Generator().manual_seed(seed), dtype)


# --- the course's scales -------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("method", RANDOM_METHODS)
def test_numpy_std_is_course_formula(method, dtype):
    """NumPy W ~ N(0, scale^2) with the course's scale (small 0.01, large 10,
    xavier sqrt(1/n_prev), he sqrt(2/n_prev), glorot sqrt(2/(n_prev+n))), 6 SE on 200k draws."""
    params = numpy_draw(method, dtype=dtype)
    n_prev, n = BIG
    assert_course_normal(params["W1"], COURSE_STD[method](n_prev, n), f"numpy {method} {dtype}")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("method", RANDOM_METHODS)
def test_torch_std_is_course_formula(method, dtype):
    """reference_torch.init maps each course scale onto torch.nn.init (the course's "xavier"
    is kaiming_normal_ with gain 1, not xavier_normal_); same 6 SE check on 200k draws."""
    params = torch_draw(method, dtype=dtype)
    n_prev, n = BIG
    assert_course_normal(params["W1"], COURSE_STD[method](n_prev, n), f"torch {method} {dtype}")


@pytest.mark.parametrize("method", RANDOM_METHODS)
def test_numpy_std_per_layer(method):
    """Every layer l of a deep net gets the course's scale for its own (n_{l-1}, n_l)."""
    params = numpy_draw(method, dims=DEEP, seed=3)
    for l in range(1, len(DEEP)):
        sigma = COURSE_STD[method](DEEP[l - 1], DEEP[l])
        assert_course_normal(params[f"W{l}"], sigma, f"numpy {method} W{l}")


@pytest.mark.parametrize("method", RANDOM_METHODS)
def test_torch_std_per_layer(method):
    """Every layer l of a deep net gets the course's scale for its own (n_{l-1}, n_l) on the torch side."""
    params = torch_draw(method, dims=DEEP, seed=3)
    for l in range(1, len(DEEP)):
        sigma = COURSE_STD[method](DEEP[l - 1], DEEP[l])
        assert_course_normal(params[f"W{l}"], sigma, f"torch {method} W{l}")


# --- one distribution on both sides --------------------------------------------------


@pytest.mark.parametrize("method", RANDOM_METHODS)
def test_ks_numpy_vs_torch_same_distribution(method):
    """Two-sample KS between the NumPy and the torch draw (200k each) stays below D_crit at alpha 1e-6."""
    a = numpy_draw(method, seed=11)["W1"]
    b = to_np(torch_draw(method, seed=11)["W1"])
    d, d_crit = ks_statistic(a, b), ks_critical(a.size, b.size)
    assert d < d_crit, f"{method}: KS D = {d:.5f} >= D_crit {d_crit:.5f}: the two sides draw different laws"


def test_ks_statistic_matches_hand_computed_cases():
    """The NumPy KS statistic on small cases with known answers (identical, disjoint, shifted by one)."""
    x = np.arange(10.0)
    assert ks_statistic(x, x) == 0.0
    assert ks_statistic(x, x + 100) == 1.0
    assert ks_statistic(x, x + 1) == pytest.approx(0.1)
    assert ks_statistic([0.0, 1.0], [0.5]) == pytest.approx(0.5)
    # c(0.05) = 1.358 is the textbook constant
    assert ks_critical(1, 1, 0.05) / math.sqrt(2) == pytest.approx(1.3581, abs=1e-4)


def test_ks_rejects_he_against_xavier():
    """Sanity: the KS test can fail. He (sqrt(2/n_prev)) against xavier (sqrt(1/n_prev)), one per side."""
    a = numpy_draw("he", seed=1)["W1"]
    b = to_np(torch_draw("xavier", seed=1)["W1"])
    d, d_crit = ks_statistic(a, b), ks_critical(a.size, b.size)
    assert d > d_crit, f"KS D = {d:.5f} <= D_crit {d_crit:.5f}: the test cannot tell he from xavier"


def test_ks_rejects_torch_xavier_normal_for_course_xavier():
    """Sanity: the KS test catches the naming trap, torch's xavier_normal_ (Glorot scale)
    drawn where the course's xavier (sqrt(1/n_prev)) is meant, on a 1000 -> 400 layer."""
    dims = [1000, 400]
    a = numpy_draw("xavier", dims=dims, seed=2)["W1"]
    W = torch.empty(400, 1000, dtype=torch.float64)
    torch.nn.init.xavier_normal_(W, generator=torch.Generator().manual_seed(2))
    d, d_crit = ks_statistic(a, to_np(W)), ks_critical(a.size, W.numel())
    assert d > d_crit, f"KS D = {d:.5f} <= D_crit {d_crit:.5f}"


# --- zeros, shapes, dtypes -----------------------------------------------------------


def test_zeros_both_sides():
    """Course 2 week 1 "zeros" initialisation: every W and b is exactly 0 on both sides."""
    dims = [5, 4, 3, 1]
    n_params = numpy_draw("zeros", dims=dims)
    t_params = torch_draw("zeros", dims=dims)
    for l in range(1, len(dims)):
        for key in (f"W{l}", f"b{l}"):
            assert not np.any(n_params[key]), f"numpy {key} not all zero"
            assert not torch.any(t_params[key]), f"torch {key} not all zero"


@pytest.mark.parametrize("method", n_init.METHODS)
def test_biases_are_zero_both_sides(method):
    """b_l = 0 for every method (the course zeroes the biases), both sides."""
    n_params = numpy_draw(method, dims=DEEP)
    t_params = torch_draw(method, dims=DEEP)
    for l in range(1, len(DEEP)):
        assert not np.any(n_params[f"b{l}"]) and not torch.any(t_params[f"b{l}"])


@pytest.mark.parametrize("method", n_init.METHODS)
def test_shapes_both_sides(method):
    """W_l (n_l, n_{l-1}) on both sides; b_l (n_l, 1) in NumPy, (n_l,) in torch; nothing else."""
    dims = [7, 5, 3, 2]
    n_params = numpy_draw(method, dims=dims)
    t_params = torch_draw(method, dims=dims)
    expected = {f"{p}{l}" for l in range(1, len(dims)) for p in "Wb"}
    assert set(n_params) == expected and set(t_params) == expected
    for l in range(1, len(dims)):
        assert n_params[f"W{l}"].shape == (dims[l], dims[l - 1])
        assert n_params[f"b{l}"].shape == (dims[l], 1)
        assert tuple(t_params[f"W{l}"].shape) == (dims[l], dims[l - 1])
        assert tuple(t_params[f"b{l}"].shape) == (dims[l],)


@pytest.mark.parametrize(("n_dtype", "t_dtype"), [("float32", torch.float32), ("float64", torch.float64)])
@pytest.mark.parametrize("method", n_init.METHODS)
def test_dtype_honoured_both_sides(method, n_dtype, t_dtype):
    """The requested float32 / float64 is the dtype of every W and b on both sides."""
    n_params = numpy_draw(method, dims=[4, 3, 1], dtype=n_dtype)
    t_params = torch_draw(method, dims=[4, 3, 1], dtype=t_dtype)
    assert {v.dtype for v in n_params.values()} == {np.dtype(n_dtype)}
    assert {v.dtype for v in t_params.values()} == {t_dtype}


def test_numpy_float32_is_the_float64_draw_rounded():
    """float32 weights are the float64 draw cast down (same numbers, same seed)."""
    p64 = numpy_draw("he", dims=[6, 5, 2], seed=4, dtype="float64")
    p32 = numpy_draw("he", dims=[6, 5, 2], seed=4, dtype="float32")
    for key in p64:
        np.testing.assert_array_equal(p32[key], p64[key].astype(np.float32))


# --- rng handling --------------------------------------------------------------------


def test_int_seed_reproducible():
    """An int seed gives the same weights every call; another seed gives others."""
    a = n_init.initialize_parameters([6, 5, 2], "he", 7)
    b = n_init.initialize_parameters([6, 5, 2], "he", 7)
    c = n_init.initialize_parameters([6, 5, 2], "he", 8)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["W1"], c["W1"])


def test_numpy_generator():
    """A numpy Generator is used as is: default_rng(7) draws what seed 7 draws, and it advances."""
    rng = np.random.default_rng(7)
    a = n_init.initialize_parameters([6, 5, 2], "he", rng)
    b = n_init.initialize_parameters([6, 5, 2], "he", 7)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    again = n_init.initialize_parameters([6, 5, 2], "he", rng)
    assert not np.array_equal(a["W1"], again["W1"]), "the Generator was not advanced (or was copied)"
    # the weights are rng.standard_normal * scale, drawn W1 then W2
    ref = np.random.default_rng(7)
    np.testing.assert_array_equal(a["W1"], ref.standard_normal((5, 6)) * math.sqrt(2 / 6))
    np.testing.assert_array_equal(a["W2"], ref.standard_normal((2, 5)) * math.sqrt(2 / 5))


def test_legacy_randomstate_reproduces_course_one_hidden_layer():
    """Course 1 week 3: np.random.seed(2), sizes (2, 4, 1), randn * 0.01 gives
    W1 = [[-0.00416758, -0.00056267], [-0.02136196, 0.01640271], [-0.01793436, -0.00841747],
    [0.00502881, -0.01245288]], W2 = [[-0.01057952, -0.00909008, 0.00551454, 0.02292208]], b = 0."""
    params = n_init.initialize_parameters([2, 4, 1], "small", np.random.RandomState(2))
    W1 = [[-0.00416758, -0.00056267], [-0.02136196, 0.01640271],
          [-0.01793436, -0.00841747], [0.00502881, -0.01245288]]
    W2 = [[-0.01057952, -0.00909008, 0.00551454, 0.02292208]]
    # printed to 8 decimals: agreement up to half a unit in the 8th decimal
    np.testing.assert_allclose(params["W1"], W1, rtol=0, atol=5.01e-9)
    np.testing.assert_allclose(params["W2"], W2, rtol=0, atol=5.01e-9)
    assert not np.any(params["b1"]) and not np.any(params["b2"])
    # and RandomState(2) is the course's np.random.seed(2) followed by np.random.randn
    rs = np.random.RandomState(2)
    np.testing.assert_array_equal(params["W1"], rs.randn(4, 2) * 0.01)
    np.testing.assert_array_equal(params["W2"], rs.randn(1, 4) * 0.01)


@pytest.mark.parametrize("bad", [-1, True, 1.5, "0", None])
def test_bad_rng_rejected(bad):
    """rng must be a non-negative int, a Generator or a RandomState: anything else is a ValueError."""
    with pytest.raises(ValueError, match="rng"):
        n_init.initialize_parameters([3, 2], "he", bad)


@pytest.mark.parametrize("method", RANDOM_METHODS)
def test_torch_generator_reproducible(method):
    """An explicit torch.Generator makes the torch side reproducible, and leaves torch's global RNG alone."""
    state = torch.get_rng_state()
    a = torch_draw(method, dims=[6, 5, 2], seed=9)
    b = torch_draw(method, dims=[6, 5, 2], seed=9)
    c = torch_draw(method, dims=[6, 5, 2], seed=10)
    assert torch.equal(torch.get_rng_state(), state), "the global torch RNG was consumed"
    for key in a:
        assert torch.equal(a[key], b[key])
    assert not torch.equal(a["W1"], c["W1"])


# --- the nn.Module's init_params -----------------------------------------------------


@pytest.mark.parametrize("method", RANDOM_METHODS)
def test_torch_network_init_params_per_layer(method):
    """reference_torch.models.Network(...).init_params(method) overwrites torch's default
    (kaiming-uniform) init with the course's scale in every layer, and zeroes the biases."""
    net = t_models.Network(DEEP, "relu", "sigmoid")
    assert net.init_params(method, torch.Generator().manual_seed(5)) is net
    for l, layer in enumerate(net.linears, start=1):
        sigma = COURSE_STD[method](DEEP[l - 1], DEEP[l])
        assert tuple(layer.weight.shape) == (DEEP[l], DEEP[l - 1])
        assert_course_normal(layer.weight, sigma, f"torch Network {method} layer {l}")
        assert not torch.any(layer.bias)


def test_torch_network_init_params_zeros():
    """Network.init_params('zeros') zeroes every weight and bias."""
    net = t_models.Network([4, 3, 1], "relu", "sigmoid").init_params("zeros")
    for layer in net.linears:
        assert not torch.any(layer.weight) and not torch.any(layer.bias)


@pytest.mark.parametrize("method", RANDOM_METHODS)
def test_numpy_network_init_params_per_layer(method):
    """scratch_numpy.models.Network.init_params draws the same as initialize_parameters, per layer."""
    net = n_models.Network(DEEP, "relu", "sigmoid")
    params = net.init_params(method, 5)
    ref = n_init.initialize_parameters(DEEP, method, 5)
    for l in range(1, len(DEEP)):
        np.testing.assert_array_equal(params[f"W{l}"], ref[f"W{l}"])
        assert_course_normal(params[f"W{l}"], COURSE_STD[method](DEEP[l - 1], DEEP[l]),
                             f"numpy Network {method} layer {l}")

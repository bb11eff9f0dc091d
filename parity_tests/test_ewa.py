"""Exponentially weighted averages against the direct weighted sum, the ~1/(1-beta) window,
bias correction, and NumPy against torch's EMA update (get_ema_avg_fn), bit for bit."""

import math

import numpy as np
import pytest
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from parity_tests import twins
from reference_torch import ewa as t_ewa
from scratch_numpy import ewa as n_ewa


def direct_sum(thetas, beta, t, bias_correction):
    """v_t = (1 - beta) sum_{k=1}^{t} beta^(t-k) theta_k, divided by 1 - beta^t if corrected."""
    v = sum((1 - beta) * beta ** (t - k) * thetas[k - 1] for k in range(1, t + 1))
    return v / (1 - beta ** t) if bias_correction else v


@pytest.mark.parametrize("bias_correction", [False, True])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.98])
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-13), ("float32", 1e-5)])
def test_matches_the_direct_weighted_sum(beta, bias_correction, dtype, rtol):
    thetas = (10 + np.random.default_rng(1).standard_normal((60, 3))).astype(dtype)
    averages = n_ewa.ewa(thetas, beta, bias_correction=bias_correction)
    assert averages.dtype == thetas.dtype
    for t in (1, 2, 7, 60):
        expected = direct_sum(thetas.astype(np.float64), beta, t, bias_correction)
        np.testing.assert_allclose(averages[t - 1], expected, rtol=rtol)


def test_bias_correction_removes_the_start_up_bias():
    """On a constant sequence the plain average is theta (1 - beta^t), the corrected one theta."""
    thetas = np.full((30, 1), 4.0)
    plain = n_ewa.ewa(thetas, 0.9)[:, 0]
    corrected = n_ewa.ewa(thetas, 0.9, bias_correction=True)[:, 0]
    t = np.arange(1, 31)
    np.testing.assert_allclose(plain, 4.0 * (1 - 0.9 ** t), rtol=1e-14)
    np.testing.assert_allclose(corrected, 4.0, rtol=1e-14)
    assert plain[0] == pytest.approx(0.4)            # the course's "v_1 = 0.1 theta_1" start
    np.testing.assert_allclose(n_ewa.direct_weights(30, 0.9, bias_correction=True).sum(), 1.0, rtol=1e-14)


@pytest.mark.parametrize("beta", [0.9, 0.95, 0.98, 0.999])
def test_averages_roughly_the_last_one_over_one_minus_beta_values(beta):
    """beta^(1/(1-beta)) ~ 1/e: the last 1/(1-beta) values carry ~63 % of the weight, and after a
    step from 0 to 1 the average reaches 1 - 1/e after about 1/(1-beta) steps."""
    window = n_ewa.effective_window(beta)
    assert window == pytest.approx(1 / (1 - beta))
    n = round(window)
    assert beta ** n == pytest.approx(1 / math.e, rel=0.06)
    weights = n_ewa.direct_weights(5 * n, beta)
    assert weights[-n:].sum() == pytest.approx(1 - 1 / math.e, rel=0.04)
    step = n_ewa.ewa(np.ones((5 * n, 1)), beta)[:, 0]
    assert abs(int(np.argmax(step >= 1 - 1 / math.e)) + 1 - window) <= 1


@pytest.mark.parametrize("bias_correction", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, beta, seed", [((3,), 0.9, 0), ((4, 2), 0.98, 1), ((), 0.5, 2)],
                         ids=["3-beta0.9", "4x2-beta0.98", "scalar-beta0.5"])
def test_numpy_and_torch_agree_bit_for_bit(bias_correction, dtype, shape, beta, seed, device):
    report = twins.ewa.ewa(dtype, device, bias_correction=bias_correction, beta=beta, shape=shape, seed=seed)
    report.assert_passed()
    numpy_rows, torch_rows = twins.ewa.ewa_pair(dtype=dtype, device=device, beta=beta, shape=shape, seed=seed,
                                                  bias_correction=bias_correction)
    np.testing.assert_array_equal(numpy_rows["averages"], torch_rows["averages"].cpu().numpy())


def test_averaged_model_starts_from_the_first_value():
    """torch's AveragedModel copies theta_1 on its first update (v_1 = theta_1), then applies the
    EMA: neither v_t nor its bias-corrected form (they differ from t = 2 on)."""
    thetas = [torch.tensor([2.0], dtype=torch.float64), torch.tensor([4.0], dtype=torch.float64)]
    model = torch.nn.Linear(1, 1, bias=False, dtype=torch.float64)
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    for theta in thetas:
        with torch.no_grad():
            model.weight.copy_(theta[None])
        averaged.update_parameters(model)
    got = float(averaged.module.weight.detach())
    assert got == pytest.approx(0.9 * 2 + 0.1 * 4)                       # 2.2, started at theta_1
    numpy_thetas = np.array([[2.0], [4.0]])
    assert n_ewa.ewa(numpy_thetas, 0.9)[-1, 0] == pytest.approx(0.9 * 0.2 + 0.1 * 4)   # 0.58, from v_0 = 0
    assert n_ewa.ewa(numpy_thetas, 0.9, bias_correction=True)[-1, 0] == pytest.approx(0.58 / 0.19)


@pytest.mark.parametrize("beta", [1.0, 1.5, -0.1, float("nan"), "0.9", None])
def test_bad_beta_is_a_clear_error(beta):
    with pytest.raises(ValueError, match=r"beta must be a number in \[0, 1\)"):
        n_ewa.EWA(beta)
    with pytest.raises(ValueError, match=r"beta must be a number in \[0, 1\)"):
        t_ewa.EWA(beta)
    with pytest.raises(ValueError, match=r"beta must be a number in \[0, 1\)"):
        n_ewa.ewa(np.ones((3, 1)), beta)


def test_shape_and_dtype_changes_are_errors():
    average = n_ewa.EWA(0.9)
    average.update(np.ones(3))
    with pytest.raises(ValueError, match="theta must have shape"):
        average.update(np.ones(4))
    with pytest.raises(ValueError, match="theta must have dtype float64"):
        average.update(np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="no value before the first update"):
        n_ewa.EWA(0.9).value

"""The flat-buffer optimisers against their own rules applied tensor by tensor, bit for bit.

scratch_numpy.optim keeps the parameters, scratch and state of all layers as views into one flat
array each and runs every update rule over runs of the buffers (a large gradient read where it
lies, the others gathered into a gradient buffer), in cache-sized blocks that straddle the
tensors' boundaries. Elementwise arithmetic does not depend on where an element lies, so the
result must equal, exactly, the rule applied to each tensor on its own: the oracle
here calls the same class's ``update`` kernel (the single statement of each algorithm) on
per-tensor copies, with the L2 hook as the module states it (dW_l + (lambda/m) W_l, weights only),
and the two are compared with np.array_equal after every one of 200 steps on random parameters and
a random gradient stream (drawn once, fed to both).
"""

import numpy as np
import pytest

from scratch_numpy import optim as n_optim

# Two weights of a block (BLOCK_BYTES) or more in either dtype, read where they lie (a run each),
# and small parameters gathered into one run; dW1 comes in Fortran order every other step, so it is
# gathered as well: the runs are then gathered, read in place, gathered. With L2 all is one run.
# The matrix of rules runs with 2 KiB blocks on small layers (cheap; several blocks per run), Adam
# also at the real block size.
LAYERS = (263, 250, 263, 3)
SMALL_BLOCK_BYTES, SMALL_LAYERS = 2048, (37, 20, 30, 3)
STEPS = 200
VARIANTS = {
    "gd": ("gd", {"lr": 0.05}),
    "momentum": ("momentum", {"lr": 0.05, "beta": 0.8}),
    "cs231n_momentum": ("cs231n_momentum", {"lr": 0.05, "mu": 0.85}),
    "nesterov": ("cs231n_momentum", {"lr": 0.05, "mu": 0.85, "nesterov": True}),
    "rmsprop": ("rmsprop", {"lr": 0.01, "beta": 0.95, "eps": 1e-7}),
    "adam": ("adam", {"lr": 0.01, "beta1": 0.85, "beta2": 0.99, "eps": 1e-7}),
}
L2 = {"l2_lambda": 0.7, "m": 50}


def test_the_variants_cover_every_optimiser():
    assert {name for name, _ in VARIANTS.values()} == set(n_optim.OPTIMIZERS)
    assert {hp.get("nesterov", False) for name, hp in VARIANTS.values() if name == "cs231n_momentum"} == {False, True}


def random_params(rng, dtype, layers) -> dict:
    """{W1, b1, ...} of the course's shapes, every entry drawn (biases too)."""
    params = {}
    for l in range(1, len(layers)):
        params[f"W{l}"] = rng.standard_normal((layers[l], layers[l - 1])).astype(dtype)
        params[f"b{l}"] = rng.standard_normal((layers[l], 1)).astype(dtype)
    return params


def random_grads(rng, params) -> dict:
    """One step's gradients: standard normal times a random scale per tensor."""
    return {"d" + k: (rng.uniform(0.1, 3.0) * rng.standard_normal(v.shape)).astype(v.dtype) for k, v in params.items()}


class PerTensor:
    """The oracle: ``optimizer``'s own ``update`` kernel applied tensor by tensor, whole, to copies
    of ``params`` with state of their own; ``optimizer`` lends its hyperparameters and its counter t
    (counted here) and is never stepped."""

    def __init__(self, optimizer, params: dict):
        self.rule = optimizer
        self.params = {k: v.copy() for k, v in params.items()}
        self.state = {name: {"d" + k: np.zeros_like(v) for k, v in params.items()} for name in optimizer.state_names}

    def step(self, grads: dict) -> None:
        rule = self.rule
        rule.t += 1
        for key, W in self.params.items():
            dW = grads["d" + key]
            if rule.l2_lambda and key.startswith("W"):
                dW = dW + (rule.l2_lambda / rule.m) * W
            rule.update(W, dW, np.empty_like(W), *(self.state[name]["d" + key] for name in rule.state_names))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("l2", [False, True], ids=["no-l2", "l2"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_flat_buffer_equals_the_rule_per_tensor_bit_for_bit(variant, l2, dtype, monkeypatch):
    monkeypatch.setattr(n_optim, "BLOCK_BYTES", SMALL_BLOCK_BYTES)
    compare_with_the_oracle(variant, l2, dtype, SMALL_LAYERS)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_flat_buffer_equals_the_rule_per_tensor_at_the_real_block_size(dtype):
    compare_with_the_oracle("adam", False, dtype, LAYERS)


def compare_with_the_oracle(variant, l2, dtype, layers):
    """STEPS steps of the flat optimiser and of PerTensor on the same stream, compared after each."""
    name, hp = VARIANTS[variant]
    hp = {**hp, **(L2 if l2 else {})}
    rng = np.random.default_rng(17)
    params = random_params(rng, dtype, layers)
    oracle = PerTensor(n_optim.make_optimizer(name, {k: v.copy() for k, v in params.items()}, **hp), params)
    optimizer = n_optim.make_optimizer(name, params, **hp)
    assert min(params["W1"].size, params["W2"].size) * np.dtype(dtype).itemsize >= n_optim.BLOCK_BYTES   # read in place
    for step in range(1, STEPS + 1):
        grads = random_grads(rng, params)
        if step % 2:
            grads["dW1"] = np.asfortranarray(grads["dW1"])
        optimizer.step(params, grads)
        oracle.step(grads)
        assert optimizer.t == oracle.rule.t == step
        for key, W in oracle.params.items():
            assert np.array_equal(params[key], W), f"{key} differs after step {step}"
            for state in optimizer.state_names:
                assert np.array_equal(optimizer.state[state]["d" + key], oracle.state[state]["d" + key]), \
                    f"{state}['d{key}'] differs after step {step}"
    assert all(np.isfinite(v).all() for v in params.values())


def test_params_are_views_of_the_buffer_and_writes_through_them_are_seen():
    rng = np.random.default_rng(0)
    params = random_params(rng, "float64", (4, 5, 3))
    given = dict(params)
    optimizer = n_optim.make_optimizer("gd", params, lr=0.5)
    for key, view in params.items():
        assert np.shares_memory(view, optimizer.flat["params"]) and np.array_equal(view, given[key])
        assert view.shape == given[key].shape and view.flags.c_contiguous
    for name in ("v", "s"):
        for key, view in n_optim.make_optimizer("adam", dict(given), lr=0.1).state[name].items():
            assert view.shape == given[key[1:]].shape
    params["W2"][1, 2] = 7.0             # written through the view: the optimiser steps from it
    params["b1"][...] = -1.0
    grads = random_grads(rng, params)
    optimizer.step(params, grads)
    assert params["W2"][1, 2] == 7.0 - 0.5 * grads["dW2"][1, 2]
    assert np.array_equal(params["b1"], -1.0 - 0.5 * grads["db1"])
    assert np.array_equal(params["W1"], given["W1"] - 0.5 * grads["dW1"])


def test_a_rebound_entry_is_updated_in_place_like_a_view():
    """An entry the caller replaced after the constructor (another array of its shape and dtype, in
    any layout) is copied in and the result copied back into that array: the same numbers."""
    rng = np.random.default_rng(1)
    params = random_params(rng, "float32", (4, 5, 3))
    twin = {k: v.copy() for k, v in params.items()}
    flat, rebound = (n_optim.make_optimizer("adam", p, lr=0.01, l2_lambda=0.3, m=10) for p in (params, twin))
    for step in range(5):
        replaced = np.asfortranarray(twin["W1"] + 0)
        twin["W1"] = replaced
        grads = random_grads(rng, params)
        flat.step(params, grads)
        rebound.step(twin, {k: np.asfortranarray(g) for k, g in grads.items()})
        assert twin["W1"] is replaced
        for key in params:
            assert np.array_equal(params[key], twin[key])


def test_state_round_trip_is_copied():
    rng = np.random.default_rng(2)
    params = random_params(rng, "float64", (6, 4, 2))
    first = n_optim.make_optimizer("adam", params, lr=0.01)
    for _ in range(3):
        first.step(params, random_grads(rng, params))
    second_params = {k: v.copy() for k, v in params.items()}
    second = n_optim.make_optimizer("adam", second_params, lr=0.01, state=first.state)
    assert second.t == 3
    for name in ("v", "s"):
        for key, value in first.state[name].items():
            assert np.array_equal(second.state[name][key], value)
            assert not np.shares_memory(second.state[name][key], value)
    grads = random_grads(rng, params)
    first.step(params, grads)
    second.step(second_params, grads)
    for key in params:
        assert np.array_equal(params[key], second_params[key])
    for name in ("v", "s"):
        for key, value in first.state[name].items():
            assert np.array_equal(second.state[name][key], value)


@pytest.mark.parametrize("where, value, match", [
    ("grads", np.nan, r"grads\['db2'\] contains NaN or inf"),
    ("grads", 1e200, r"grads\['db2'\] has entries of magnitude up to 1e\+200"),
    ("params", np.inf, r"params\['b2'\] contains NaN or inf"),
])
def test_a_bad_value_in_the_buffer_names_its_tensor_and_changes_nothing(where, value, match):
    """The finiteness and squarability checks scan whole buffers; a failure still names the tensor."""
    rng = np.random.default_rng(3)
    params = random_params(rng, "float64", (4, 5, 3))
    optimizer = n_optim.make_optimizer("adam", params, lr=0.01)
    grads = random_grads(rng, params)
    (grads["db2"] if where == "grads" else params["b2"])[1, 0] = value
    before = {k: v.copy() for k, v in params.items()}
    with pytest.raises(ValueError, match=match):
        optimizer.step(params, grads)
    assert optimizer.t == 0 and not any(v.any() for v in optimizer.state["v"].values())
    for key in params:
        assert np.array_equal(params[key], before[key], equal_nan=True)


def test_params_of_two_dtypes_are_refused():
    params = random_params(np.random.default_rng(4), "float64", (4, 5, 3))
    params["b2"] = params["b2"].astype("float32")
    with pytest.raises(ValueError, match=r"params\['b2'\] must have dtype float64"):
        n_optim.make_optimizer("gd", params, lr=0.1)

"""The computation graph, twice: one recipe (builder calls) builds the NumPy graph (scratch_numpy.graph) and
the torch graph (reference_torch.graph); every node's forward value and gradient dJ/dnode is compared by
name. Rows "<name>" are values, rows "dJ/d<name>" gradients.
"""

from __future__ import annotations

import numpy as np
import torch

from reference_torch import graph as t_graph
from scratch_numpy import graph as n_graph

from ..checker.harness import compare
from .common import labels, normal
from .mutant import Mutant, replacing


# ---- recipes: build(g) -> output node, the same calls on either side's Graph ----

def course(dtype="float64", a=5.0, b=3.0, c=2.0):
    """The course's J = 3(a + bc): u = bc, v = a + u, J = 3v (dJ/da = 3, dJ/db = 3c, dJ/dc = 3b)."""
    def build(g):
        A, B, C = (g.input(n, np.array(x, dtype)) for n, x in (("a", a), ("b", b), ("c", c)))
        u = g.mul(B, C, name="u")
        v = g.add(A, u, name="v")
        return g.scale(v, 3.0, name="J")
    return build


def logistic(dtype="float64", n_x=4, m=6, seed=0):
    """Logistic regression: Z = W X + b with W = w^T (1, n_x), J = mean BCE(sigmoid(Z), Y), on logits."""
    rng = np.random.default_rng(seed)
    X, W, b = normal(rng, (n_x, m), dtype), normal(rng, (1, n_x), dtype), normal(rng, (1, 1), dtype)
    Y = labels(rng, 2, m)

    def build(g):
        WX = g.matmul(g.input("W", W), g.input("X", X), name="WX")
        Z = g.add(WX, g.input("b", b), name="Z")
        return g.bce_with_logits(Z, Y, name="J")
    return build


def network(dtype="float64", dims=(4, 5, 3, 1), hidden="tanh", output="sigmoid", m=6, seed=0):
    """An L-layer network (two layers by default: dims (n_x, n_h, n_y)): Z_l = W_l A_{l-1} + b_l (nodes
    "W{l}A{l-1}" then "Z{l}"), A_l = hidden(Z_l), the loss on Z_L: BCE on logits for a sigmoid output,
    softmax cross-entropy otherwise. Returns (build, params, X, Y) for the hand-written comparison."""
    rng = np.random.default_rng(seed)
    X = normal(rng, (dims[0], m), dtype)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = (normal(rng, (dims[l], dims[l - 1]), dtype) / np.sqrt(dims[l - 1])).astype(dtype)
        params[f"b{l}"] = normal(rng, (dims[l], 1), dtype)
    Y = labels(rng, 2 if output == "sigmoid" else dims[-1], m)
    L = len(dims) - 1

    def build(g):
        A = g.input("X", X)
        for l in range(1, L + 1):
            prev = "X" if l == 1 else f"A{l - 1}"
            WA = g.matmul(g.input(f"W{l}", params[f"W{l}"]), A, name=f"W{l}{prev}")
            Z = g.add(WA, g.input(f"b{l}", params[f"b{l}"]), name=f"Z{l}")
            if l < L:
                A = getattr(g, hidden)(Z, name=f"A{l}")
        return g.bce_with_logits(Z, Y, name="J") if output == "sigmoid" else g.cross_entropy(Z, Y, name="J")
    return build, params, X, Y


def several_paths(dtype="float64", shape=(3, 2), seed=0):
    """x feeds three nodes (u, v, and w = x * x, twice), u feeds two: u = x y, v = x + u, w = x x,
    J = sum(u v + w). dJ/dx = y v + u + 2x + ... : each path's contribution adds."""
    rng = np.random.default_rng(seed)
    x, y = normal(rng, shape, dtype), normal(rng, shape, dtype)

    def build(g):
        X, Y = g.input("x", x), g.input("y", y)
        u = g.mul(X, Y, name="u")
        v = g.add(X, u, name="v")
        w = g.mul(X, X, name="w")
        uv = g.mul(u, v, name="uv")
        return g.sum(g.add(uv, w, name="s"), name="J")
    return build


# ---- running a recipe on both sides ----

def run_numpy(build):
    """(graph, output) after the NumPy forward and backward passes."""
    g = n_graph.Graph()
    out = build(g)
    g.backward(out)
    return g, out


def run_torch(build, device="cpu"):
    g = t_graph.Graph(device)
    out = build(g)
    g.backward(out)
    return g, out


def node_report(build, *, dtype="float64", device="cpu", label="graph"):
    """Every node's value and gradient, NumPy (actual) against torch (expected)."""
    del dtype   # the recipe's arrays carry it
    ng, _ = run_numpy(build)
    tg, _ = run_torch(build, device)
    actual = {**{n: node.value for n, node in ng.nodes.items()},
              **{f"dJ/d{n}": node.grad for n, node in ng.nodes.items()}}
    tv, tgr = tg.values(), tg.grads()
    expected = {**{n: tv[n] for n in ng.nodes}, **{f"dJ/d{n}": tgr[n] for n in ng.nodes}}
    return compare(actual, expected, label=label)


def graph_case(recipe, label, **kw):
    def run(dtype="float64", device="cpu"):
        built = recipe(dtype, **kw)
        return node_report(built[0] if isinstance(built, tuple) else built, device=device, label=label)
    return run


CASES = [
    ("graph J = 3(a + bc), node by node", graph_case(course, "graph J = 3(a + bc)")),
    ("graph logistic regression, node by node", graph_case(logistic, "graph logistic regression")),
    ("graph two-layer network, node by node", graph_case(network, "graph two-layer network", dims=(4, 5, 1))),
    ("graph several paths, node by node", graph_case(several_paths, "graph several paths")),
]


# ---- planted bugs: a wrong local derivative in one node type, on either side ----

def _mul_swapped(node, g):
    """d(xy)/dx taken as x (the factors swapped)"""
    x, y = node.parents
    return g * x.value, g * y.value


def _bce_no_mean(node, g):
    """dJ/dz = sigmoid(z) - y, the 1/m of the mean forgotten"""
    return (g * (n_graph.sigmoid(node.parents[0].value) - node.const),)


def _tanh_unsquared(node, g):
    """tanh' = 1 - a (square dropped)"""
    return (g * (1 - node.value),)


def _scale_factor_dropped(node, g):
    """d(kx)/dx taken as 1 (the constant dropped)"""
    return (g,)


def _add_not_unbroadcast(node, g):
    """the broadcast input's gradient not summed back (b gets dJ/dZ, shape (1, m))"""
    return g, g


def _overwrite(parent, contribution):
    parent.grad = contribution


class _MulSwapped(torch.autograd.Function):
    """x * y whose backward swaps the factors: d/dx = x."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * x, g * y


class _TanhUnsquared(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        a = torch.tanh(z)
        ctx.save_for_backward(a)
        return a

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * (1 - a)


class _BceNoMean(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, Y):
        ctx.save_for_backward(z, Y)
        return torch.nn.functional.binary_cross_entropy_with_logits(z, Y)

    @staticmethod
    def backward(ctx, g):
        z, Y = ctx.saved_tensors
        return g * (torch.sigmoid(z) - Y), None


def _numpy_op(op, kernel):
    return Mutant("numpy", "scratch_numpy.graph.BACKWARD", f"{op} node: {kernel.__doc__}", replacing(op, kernel))


def _torch_op(op, function, description):
    return Mutant("torch", "reference_torch.graph.OPS", f"{op} as a custom op: {description}",
                  replacing(op, function))


MUL_NUMPY = _numpy_op("mul", _mul_swapped)
MUL_TORCH = _torch_op("mul", _MulSwapped.apply, "d(xy)/dx taken as x")
TANH_NUMPY = _numpy_op("tanh", _tanh_unsquared)
TANH_TORCH = _torch_op("tanh", _TanhUnsquared.apply, "tanh' = 1 - a")
BCE_NUMPY = _numpy_op("bce_with_logits", _bce_no_mean)
BCE_TORCH = _torch_op("bce_with_logits", lambda z, Y: _BceNoMean.apply(z, t_graph._labels_like(Y, z)),
                      "dJ/dz = sigmoid(z) - y, no 1/m")

MUTANTS = {
    "graph J = 3(a + bc), node by node": [
        MUL_NUMPY, MUL_TORCH,
        _numpy_op("scale", _scale_factor_dropped),
        _torch_op("scale", lambda x, k: x + (k - 1) * x.detach(), "kv as x + (k - 1) x.detach(): d(kv)/dv = 1")],
    "graph logistic regression, node by node": [
        BCE_NUMPY, BCE_TORCH,
        _numpy_op("add", _add_not_unbroadcast),
        _torch_op("add", lambda x, y: x + y.detach(), "the bias detached: no gradient reaches b")],
    "graph two-layer network, node by node": [TANH_NUMPY, TANH_TORCH, BCE_NUMPY, BCE_TORCH],
    "graph several paths, node by node": [
        MUL_NUMPY, MUL_TORCH,
        Mutant("numpy", "scratch_numpy.graph._accumulate", "a path's contribution overwrites instead of adding",
               lambda original: _overwrite)],
}

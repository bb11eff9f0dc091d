"""The computation graph twice (scratch_numpy/graph.py, reference_torch/graph.py): node-by-node parity of
forward values and gradients, closed forms as oracle, the hand-written layers as a second oracle, the
several-paths rule, dC/dw = a_input x dC/dz, autograd's recorded structure, planted local-derivative bugs
that fail exactly the nodes upstream, the trace the README shows, and the TensorBoard graph."""

from __future__ import annotations

import re

import numpy as np
import pytest

from examples import graph_trace
from parity_tests.checker.comparison import compare
from parity_tests.conftest import REPO
from parity_tests.twins import graph as tw
from parity_tests.twins.mutant import planted
from reference_torch import graph as t_graph
from scratch_numpy import graph as n_graph
from scratch_numpy import layers, logistic, models
from scratch_numpy.layers import LinearCache

DTYPES = ("float64", "float32")
RECIPES = {"course": lambda dt: tw.course(dt), "logistic": lambda dt: tw.logistic(dt),
           "two-layer": lambda dt: tw.network(dt, dims=(4, 5, 1))[0],
           "three-layer softmax": lambda dt: tw.network(dt, dims=(4, 5, 3, 3), hidden="relu", output="softmax")[0],
           "several paths": lambda dt: tw.several_paths(dt)}


def close(actual, expected, dtype):
    compare({"x": np.asarray(actual, dtype)}, {"x": np.asarray(expected, dtype)}).assert_passed()


def grads(g) -> dict:
    """{name: dJ/dnode} of either side's graph, as NumPy arrays."""
    if isinstance(g, n_graph.Graph):
        return {n: node.grad for n, node in g.nodes.items()}
    return {n: t.detach().numpy() for n, t in g.grads().items()}


def values(g) -> dict:
    if isinstance(g, n_graph.Graph):
        return {n: node.value for n, node in g.nodes.items()}
    return {n: t.numpy() for n, t in g.values().items()}


def both(build):
    """[(numpy graph, output), (torch graph, output)]."""
    return [tw.run_numpy(build), tw.run_torch(build)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("recipe", RECIPES)
def test_every_node_value_and_gradient_agrees(recipe, dtype):
    """float64 at the float64 tolerance (1e-12), float32 at float32's (1e-5); dtypes never mixed."""
    report = tw.node_report(RECIPES[recipe](dtype), label=recipe)
    assert report.passed, str(report)
    assert {d.shape for d in report.diffs} and len(report.diffs) == 2 * len(tw.run_numpy(RECIPES[recipe](dtype))[0].nodes)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a, b, c", [(5.0, 3.0, 2.0), (-1.5, 0.25, 4.0)])
def test_course_graph_closed_forms(a, b, c, dtype):
    """u = bc, v = a + u, J = 3v: dJ/dv = 3, dJ/du = 3, dJ/da = 3, dJ/db = 3c, dJ/dc = 3b, on both sides."""
    for g, _ in both(tw.course(dtype, a, b, c)):
        assert values(g)["J"] == np.asarray(3 * (a + b * c), dtype) and values(g)["J"].dtype == dtype
        expected = {"J": 1, "v": 3, "u": 3, "a": 3, "b": 3 * c, "c": 3 * b}
        assert {n: float(x) for n, x in grads(g).items()} == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_several_paths_contributions_add(dtype):
    """u = xy, v = x + u, w = xx, J = sum(uv + w): dJ/du = v + u (via uv, and via v), dJ/dx = (v + u) y + u + 2x
    (via u, via v, via both arguments of w), dJ/dy = (v + u) x."""
    build = tw.several_paths(dtype)
    for g, _ in both(build):
        val, grad = values(g), grads(g)
        x, y, u, v = val["x"], val["y"], val["u"], val["v"]
        close(grad["u"], v + u, dtype)
        close(grad["x"], (v + u) * y + u + 2 * x, dtype)
        close(grad["y"], (v + u) * x, dtype)
    with planted(tw.MUTANTS["graph several paths, node by node"][2]):   # overwrite instead of add
        assert not tw.node_report(build).passed


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_graph_equals_propagate(dtype):
    """The graph's dJ/dW (W = w^T), dJ/db and J are logistic.propagate's dw^T, db and cost."""
    build = tw.logistic(dtype)
    g, J = tw.run_numpy(build)
    W, X, b = (g.nodes[n].value for n in ("W", "X", "b"))
    found, cost = logistic.propagate(W.T.copy(), float(b[0, 0]), X, J.const.astype(int))
    close(J.value, cost, dtype)
    close(g.nodes["W"].grad.T, found["dw"], dtype)
    close(g.nodes["b"].grad[0, 0], found["db"], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims, hidden, output", [((4, 5, 1), "tanh", "sigmoid"), ((4, 5, 1), "relu", "sigmoid"),
                                                  ((4, 5, 3), "tanh", "softmax")])
def test_two_layer_graph_equals_the_hand_written_layers(dims, hidden, output, dtype):
    """Both graphs' dJ/dW_l, dJ/db_l and J equal models.Network.loss; and layers.linear_backward, given the
    graph's dZ2 in its per-example convention (m dJ/dZ2), returns dW2, db2 and m dJ/dA1."""
    build, params, X, Y = tw.network(dtype, dims=dims, hidden=hidden, output=output)
    cost, net_grads = models.Network(list(dims), hidden_activation=hidden, output=output).loss(params, X, Y)
    m = X.shape[1]
    for g, J in both(build):
        val, grad = values(g), grads(g)
        close(val["J"], cost, dtype)
        for name in params:
            close(grad[name], net_grads["d" + name], dtype)
        dA1, dW2, db2 = layers.linear_backward(m * grad["Z2"], LinearCache(val["A1"], val["W2"]))
        close(dW2, grad["W2"], dtype)
        close(db2, grad["b2"], dtype)
        close(dA1, m * grad["A1"], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_times_backward_gives_every_weight_gradient(dtype):
    """dC/dw_jk = sum over examples of a_k (forward pass, the layer's input) x dC/dz_j (backward pass), for
    every weight of a three-layer network, on both sides; the node W_l A_{l-1} has dC/dZ_l (add passes it)."""
    build, params, _, _ = tw.network(dtype, dims=(4, 5, 3, 1))
    for g, _ in both(build):
        val, grad = values(g), grads(g)
        for l in (1, 2, 3):
            A_in, dZ = val["X" if l == 1 else f"A{l - 1}"], grad[f"Z{l}"]
            product = np.array([[np.sum(A_in[k] * dZ[j]) for k in range(A_in.shape[0])] for j in range(dZ.shape[0])],
                               dtype=dtype)
            close(grad[f"W{l}"], product, dtype)
            close(grad[f"W{l}"], dZ @ A_in.T, dtype)


@pytest.mark.parametrize("recipe", RECIPES)
def test_autograd_records_the_same_graph(recipe):
    """The torch graph read back from grad_fn / next_functions has the NumPy graph's nodes, in the same
    topological order, each with the grad_fn its op records and the same input edges."""
    build = RECIPES[recipe]("float64")
    (ng, n_out), (tg, t_out) = both(build)
    expected = {name: (t_graph.GRAD_FN[op], parents) for name, (op, parents) in ng.structure(n_out).items()}
    read = tg.read_back(t_out)
    assert read == expected
    assert list(read) == [n.name for n in ng.topological_order(n_out)]


# A planted wrong local derivative in one node type: exactly the gradients upstream of the nodes of that
# type fail; their own dJ/dnode (computed downstream) and every forward value still agree.
PLANTED = [("course", "mul", tw.MUL_NUMPY, tw.MUL_TORCH),
           ("two-layer", "tanh", tw.TANH_NUMPY, tw.TANH_TORCH),
           ("logistic", "bce_with_logits", tw.BCE_NUMPY, tw.BCE_TORCH)]


def _upstream(build, op) -> set[str]:
    g, out = tw.run_numpy(build)
    return set().union(*(g.ancestors(n) for n in g.nodes.values() if n.op == op))


@pytest.mark.parametrize("side", ["numpy", "torch"])
@pytest.mark.parametrize("recipe, op, numpy_bug, torch_bug", PLANTED, ids=[p[0] for p in PLANTED])
def test_a_wrong_local_derivative_fails_exactly_the_nodes_upstream(recipe, op, numpy_bug, torch_bug, side):
    build = RECIPES[recipe]("float64")
    upstream = _upstream(build, op)
    assert upstream
    with planted(numpy_bug if side == "numpy" else torch_bug):
        report = tw.node_report(build)
    assert {d.name for d in report.failures} == {f"dJ/d{n}" for n in upstream}


def test_course_graph_named_upstream_sets():
    """The sets the test above derives, written out: mul's bug fails b and c; tanh's fails A1's inputs."""
    assert _upstream(RECIPES["course"]("float64"), "mul") == {"b", "c"}
    assert _upstream(RECIPES["two-layer"]("float64"), "tanh") == {"Z1", "W1X", "W1", "X", "b1"}


@pytest.mark.parametrize("node, expected", [("u", {"u", "b", "c"}), ("v", {"v", "u", "a", "b", "c"})])
def test_a_hook_that_alters_a_node_gradient_fails_that_node_and_upstream(node, expected):
    """torch side: a tensor hook doubling dJ/dnode (seen by retain_grad too) fails that node and its ancestors."""
    build = tw.course()
    ng, _ = tw.run_numpy(build)
    tg = t_graph.Graph()
    out = build(tg)
    tg.tensors[node].register_hook(lambda grad: 2 * grad)
    tg.backward(out)
    n_grads, t_grads = grads(ng), grads(tg)
    assert {n for n in n_grads if not np.allclose(n_grads[n], t_grads[n])} == expected


README_TRACE = re.compile(r"```\npython -m examples\.graph_trace\n```\n.*?```\n(.*?)```", re.S)


def test_the_readme_shows_the_printed_trace(capsys):
    assert graph_trace.main([]) == 0
    printed = capsys.readouterr().out
    shown = README_TRACE.search((REPO / "README.md").read_text())
    assert shown, "README: the graph_trace output block is missing"
    assert shown[1] == printed


def test_the_numpy_trace_lists_forward_then_backward():
    g, J = tw.run_numpy(tw.course())
    assert g.trace(J).splitlines() == [
        "forward", "  a  input        5", "  b  input        3", "  c  input        2", "  u  mul(b, c)    6",
        "  v  add(a, u)    11", "  J  scale(v, 3)  33", "backward (dJ/dnode)",
        "  J  1", "  v  3", "  u  3", "  c  9", "  b  6", "  a  3"]


def test_the_graph_is_logged_to_tensorboard(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator as ea
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(tmp_path)) as writer:
        names = t_graph.add_graph(writer, tw.network("float64", dims=(4, 5, 1))[0])
    assert names == ["X", "W1", "b1", "W2", "b2"]
    assert list(tmp_path.glob("events.out.tfevents.*"))
    accumulator = ea.EventAccumulator(str(tmp_path))
    accumulator.Reload()
    assert accumulator.Tags()["graph"]
    ops = {node.op for node in accumulator.Graph().node}
    assert {"aten::matmul", "aten::tanh", "aten::add"} <= ops, ops


def test_the_example_logs_with_logdir(tmp_path, capsys):
    assert graph_trace.main(["--logdir", str(tmp_path)]) == 0
    assert list(tmp_path.glob("events.out.tfevents.*"))


def test_numpy_graph_refuses_a_reused_name():
    g = n_graph.Graph()
    g.input("a", 1.0)
    with pytest.raises(ValueError, match="'a' used twice"):
        g.input("a", 2.0)


def test_float32_graphs_stay_float32():
    for g, out in both(tw.course("float32")):
        assert str(values(g)["J"].dtype) == "float32" and str(grads(g)["b"].dtype) == "float32"

"""A small reverse-mode computation graph over NumPy arrays: backprop as a forward pass x a backward pass.

In the spirit of micrograd, but every node holds an array. The builder names each node, so that the
same calls on ``reference_torch.graph.Graph`` build the same graph with torch ops and the two can be
compared node by node::

    g = Graph()
    a, b, c = g.input("a", 5.0), g.input("b", 3.0), g.input("c", 2.0)
    u = g.mul(b, c, name="u")          # u = bc
    v = g.add(a, u, name="v")          # v = a + u
    J = g.scale(v, 3.0, name="J")      # J = 3v
    g.backward(J)                      # a.grad = 3, b.grad = 3c = 6, c.grad = 3b = 9
    print(g.trace(J))

Forward: every op computes its value when it is built. Backward (``Graph.backward``): the output's
gradient is 1; then, in reverse topological order, each node hands its gradient through its local
derivative (``BACKWARD[op]``) to its inputs, which *add* what they receive: a node that feeds
several others collects one contribution per path (the several-paths case of the chain rule).

Gradient convention: ``node.grad`` is plain dJ/dnode, the shape of ``node.value`` (no per-example
scaling: unlike scratch_numpy.layers, whose dZ is m * dJ/dZ, the 1/m of a mean lives in the loss
node). Layout is the course's: examples are columns, X (n_x, m), W (n, n_prev), b (n, 1).
Never imports torch.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid, softmax


class Node:
    """One value of the graph: ``name``, ``op`` ("input" for a leaf), ``parents`` (the input nodes, in
    argument order), ``value`` (forward), ``grad`` (dJ/dnode after backward, None before), and ``const``
    (what the op needs beyond its parents: a scale factor, the labels Y)."""

    def __init__(self, name, op, parents, value, const=None):
        self.name, self.op, self.parents, self.value, self.const = name, op, tuple(parents), value, const
        self.grad = None

    def __repr__(self):
        return f"Node({self.name!r}, {self.op}, shape={self.value.shape})"


def _unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: an input broadcast in the forward pass (b (n, 1) added to every
    column) was used once per copy, so its gradient is the sum of the copies' gradients."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


# Local derivatives: BACKWARD[op](node, g) -> one gradient per parent, given g = dJ/dnode.
# Looked up at every backward call (a test plants a wrong one and watches which nodes fail).

def _add_backward(node, g):
    """z = x + y: dz/dx = dz/dy = 1 (each unbroadcast to its input's shape)."""
    x, y = node.parents
    return _unbroadcast(g, x.value.shape), _unbroadcast(g, y.value.shape)


def _mul_backward(node, g):
    """z = x * y elementwise: dz/dx = y, dz/dy = x."""
    x, y = node.parents
    return _unbroadcast(g * y.value, x.value.shape), _unbroadcast(g * x.value, y.value.shape)


def _scale_backward(node, g):
    """z = k x for a constant k: dz/dx = k."""
    return (node.const * g,)


def _matmul_backward(node, g):
    """Z = W A, W (n, k), A (k, m): dJ/dW = dJ/dZ A^T (n, k), dJ/dA = W^T dJ/dZ (k, m)."""
    W, A = node.parents
    return g @ A.value.T, W.value.T @ g


def _sum_backward(node, g):
    """s = sum of all entries of x (a scalar): ds/dx = 1 everywhere."""
    return (np.broadcast_to(g, node.parents[0].value.shape).copy(),)


def _mean_backward(node, g):
    """s = mean of the N entries of x: ds/dx = 1/N everywhere."""
    x = node.parents[0].value
    return (np.broadcast_to(g / x.size, x.shape).copy(),)


def _sigmoid_backward(node, g):
    """a = sigmoid(z): da/dz = a (1 - a)."""
    return (g * node.value * (1 - node.value),)


def _tanh_backward(node, g):
    """a = tanh(z): da/dz = 1 - a^2."""
    return (g * (1 - node.value ** 2),)


def _relu_backward(node, g):
    """a = max(z, 0): da/dz = 1 where z > 0, else 0 (0 at exactly 0, as torch)."""
    return (g * (node.parents[0].value > 0),)


def _softmax_backward(node, g):
    """A = softmax(Z) per column: dJ/dZ = A * (g - sum_rows(g * A)) (the Jacobian diag(a) - a a^T, per column)."""
    A = node.value
    return (A * (g - (g * A).sum(axis=0, keepdims=True)),)


def _bce_with_logits_backward(node, g):
    """J = mean over the m examples of the cross-entropy of sigmoid(z) against y: dJ/dz = (sigmoid(z) - y) / m."""
    Z = node.parents[0].value
    return (g * (sigmoid(Z) - node.const) / Z.shape[1],)


def _cross_entropy_backward(node, g):
    """J = mean over the m columns of -log softmax(scores)[y]: dJ/dscores = (softmax(scores) - onehot(y)) / m."""
    scores = node.parents[0].value
    return (g * (softmax(scores) - _one_hot(node.const, scores.shape[0], scores.dtype)) / scores.shape[1],)


BACKWARD = {"add": _add_backward, "mul": _mul_backward, "scale": _scale_backward, "matmul": _matmul_backward,
            "sum": _sum_backward, "mean": _mean_backward, "sigmoid": _sigmoid_backward, "tanh": _tanh_backward,
            "relu": _relu_backward, "softmax": _softmax_backward, "bce_with_logits": _bce_with_logits_backward,
            "cross_entropy": _cross_entropy_backward}


def _one_hot(Y, C, dtype):
    """Labels Y (1, m) -> one-hot (C, m)."""
    return (np.arange(C)[:, None] == np.asarray(Y).reshape(1, -1)).astype(dtype)


def _accumulate(parent, contribution):
    """Add one path's contribution to ``parent.grad``: with several paths, contributions add."""
    parent.grad = parent.grad + contribution


class Graph:
    """The nodes in the order they were built (each op's inputs exist before it: already a topological
    order of the whole graph) and their names, which must be unique."""

    def __init__(self):
        self.nodes: dict[str, Node] = {}

    def _node(self, name, op, parents, value, const=None):
        if name in self.nodes:
            raise ValueError(f"node name {name!r} used twice")
        self.nodes[name] = node = Node(name, op, parents, np.asarray(value), const)
        return node

    # ---- the ops (forward values); the local derivatives are in BACKWARD ----
    def input(self, name, value):
        """A leaf: an input or a parameter (its gradient is filled by backward like any node's)."""
        return self._node(name, "input", (), np.array(value))

    def add(self, x, y, *, name):
        return self._node(name, "add", (x, y), x.value + y.value)

    def mul(self, x, y, *, name):
        return self._node(name, "mul", (x, y), x.value * y.value)

    def scale(self, x, k, *, name):
        return self._node(name, "scale", (x,), k * x.value, const=k)

    def matmul(self, W, A, *, name):
        return self._node(name, "matmul", (W, A), W.value @ A.value)

    def sum(self, x, *, name):
        return self._node(name, "sum", (x,), x.value.sum())

    def mean(self, x, *, name):
        return self._node(name, "mean", (x,), x.value.mean())

    def sigmoid(self, z, *, name):
        return self._node(name, "sigmoid", (z,), sigmoid(z.value))

    def tanh(self, z, *, name):
        return self._node(name, "tanh", (z,), np.tanh(z.value))

    def relu(self, z, *, name):
        return self._node(name, "relu", (z,), np.maximum(z.value, 0))

    def softmax(self, z, *, name):
        return self._node(name, "softmax", (z,), softmax(z.value))

    def bce_with_logits(self, z, Y, *, name):
        """Z (1, m) logits, Y (1, m) labels in {0, 1} (a constant): the mean loss, in the stable form."""
        Z, Yf = z.value, np.asarray(Y).astype(z.value.dtype)
        losses = np.maximum(Z, 0) - Z * Yf + np.log1p(np.exp(-np.abs(Z)))
        return self._node(name, "bce_with_logits", (z,), losses.mean(), const=Yf)

    def cross_entropy(self, scores, Y, *, name):
        """scores (C, m), Y (1, m) int labels: mean softmax cross-entropy (log-sum-exp shifted by the max)."""
        S = scores.value
        shifted = S - S.max(axis=0, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
        picked = (log_p * _one_hot(Y, S.shape[0], S.dtype)).sum(axis=0)
        return self._node(name, "cross_entropy", (scores,), -picked.mean(), const=np.asarray(Y))

    # ---- order, backward, trace ----
    def topological_order(self, output):
        """The nodes ``output`` depends on, each after all of its inputs (depth-first, post-order)."""
        order, seen = [], set()

        def visit(node):
            if node.name in seen:
                return
            seen.add(node.name)
            for parent in node.parents:
                visit(parent)
            order.append(node)
        visit(output)
        return order

    def ancestors(self, node) -> set[str]:
        """The names of the nodes ``node`` depends on (upstream of it), itself excluded."""
        return {n.name for n in self.topological_order(node)} - {node.name}

    def backward(self, output):
        """Fill ``grad`` = d output / d node for every node ``output`` depends on (output.grad = 1)."""
        order = self.topological_order(output)
        for node in self.nodes.values():  # a node the output does not depend on keeps dJ/dnode = 0
            node.grad = np.zeros_like(node.value)
        output.grad = np.ones_like(output.value)
        for node in reversed(order):      # a node's gradient is complete once every consumer has run
            if node.parents:
                for parent, contribution in zip(node.parents, BACKWARD[node.op](node, node.grad)):
                    _accumulate(parent, contribution)
        return order

    def structure(self, output) -> dict:
        """{name: (op, parent names)} of the graph below ``output``."""
        return {n.name: (n.op, tuple(p.name for p in n.parents)) for n in self.topological_order(output)}

    def trace(self, output) -> str:
        """The forward values in topological order, then the gradients dJ/dnode in the backward order."""
        order = self.topological_order(output)
        rows = [(n.name, n.op + ("(" + ", ".join([p.name for p in n.parents] + _shown_const(n)) + ")"
                                 if n.parents else ""), format_array(n.value)) for n in order]
        lines = ["forward"] + _columns(rows) + [f"backward (d{output.name}/dnode)"]
        lines += _columns([(n.name, format_array(n.grad)) for n in reversed(order)])
        return "\n".join(lines)


def _shown_const(node) -> list[str]:
    """A scale node's factor, printed among its arguments (labels are not printed)."""
    return [f"{node.const:g}"] if node.op == "scale" else []


def format_array(x) -> str:
    """A scalar as its value (6 significant digits), an array as its shape and its first entries."""
    x = np.asarray(x)
    if x.ndim == 0 or x.size == 1:
        return f"{float(x.reshape(())):.6g}"
    head = ", ".join(f"{v:.4g}" for v in x.ravel()[:3])
    return f"{x.shape} [{head}{', ...' if x.size > 3 else ''}]"


def _columns(rows) -> list[str]:
    """Rows of cells as left-aligned columns, two spaces apart, indented by two."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]

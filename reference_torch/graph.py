"""The computation graphs of scratch_numpy/graph.py built from torch operations, and read back from autograd.

The builder has the same calls as the NumPy one (``g.input("a", 5.0)``, ``g.mul(b, c, name="u")``, ...),
so one recipe builds both graphs; here each op is a torch operation (``OPS``), every intermediate is kept
with ``retain_grad()`` so its gradient dJ/dnode survives ``backward()``, and ``read_back`` walks
``grad_fn.next_functions`` to recover the graph autograd actually recorded: for each named node, its
grad_fn's type (``GRAD_FN``) and the named nodes it reaches (through unnamed internal functions, such
as cross-entropy's LogSoftmaxBackward0 below its NllLossBackward0).

Layout: a graph is the expression its builder calls write, so the tensors keep the shapes the recipe
gives them (the course's columns, X (n_x, m)); softmax and the cross-entropy's classes run along dim 0.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _labels_like(Y, z):
    return torch.as_tensor(np.asarray(Y), device=z.device).to(z.dtype)


# op -> torch computation; looked up at every call (a test swaps one for a custom op with a wrong backward)
OPS = {
    "add": torch.add,
    "mul": torch.mul,
    "scale": lambda x, k: x * k,
    "matmul": torch.matmul,
    "sum": torch.sum,
    "mean": torch.mean,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softmax": lambda z: torch.softmax(z, dim=0),
    "bce_with_logits": lambda z, Y: F.binary_cross_entropy_with_logits(z, _labels_like(Y, z)),
    "cross_entropy": lambda s, Y: F.cross_entropy(s.T, torch.as_tensor(np.asarray(Y), device=s.device)
                                                  .reshape(-1).long()),
}
# op -> the type of the grad_fn autograd records for it (a leaf: AccumulateGrad)
GRAD_FN = {"input": "AccumulateGrad", "add": "AddBackward0", "mul": "MulBackward0", "scale": "MulBackward0",
           "matmul": "MmBackward0", "sum": "SumBackward0", "mean": "MeanBackward0", "sigmoid": "SigmoidBackward0",
           "tanh": "TanhBackward0", "relu": "ReluBackward0", "softmax": "SoftmaxBackward0",
           "bce_with_logits": "BinaryCrossEntropyWithLogitsBackward0", "cross_entropy": "NllLossBackward0"}


class Graph:
    """Named tensors built by torch ops. ``feed`` {name: tensor}: use these tensors for the inputs of those
    names instead of the values the recipe gives (to trace a recipe as a module, ``add_graph``)."""

    def __init__(self, device="cpu", feed=None):
        self.device, self.feed = torch.device(device), dict(feed or {})
        self.tensors: dict[str, torch.Tensor] = {}

    def _keep(self, name, tensor):
        if name in self.tensors:
            raise ValueError(f"node name {name!r} used twice")
        if tensor.requires_grad and tensor.grad_fn is not None:
            tensor.retain_grad()          # an intermediate's .grad is otherwise freed by backward()
        self.tensors[name] = tensor
        return tensor

    def _op(self, op, name, *args):
        return self._keep(name, OPS[op](*args))

    def input(self, name, value):
        if name in self.feed:
            return self._keep(name, self.feed[name])
        array = np.array(value)
        return self._keep(name, torch.tensor(array, device=self.device).requires_grad_())

    def add(self, x, y, *, name):
        return self._op("add", name, x, y)

    def mul(self, x, y, *, name):
        return self._op("mul", name, x, y)

    def scale(self, x, k, *, name):
        return self._op("scale", name, x, k)

    def matmul(self, W, A, *, name):
        return self._op("matmul", name, W, A)

    def sum(self, x, *, name):
        return self._op("sum", name, x)

    def mean(self, x, *, name):
        return self._op("mean", name, x)

    def sigmoid(self, z, *, name):
        return self._op("sigmoid", name, z)

    def tanh(self, z, *, name):
        return self._op("tanh", name, z)

    def relu(self, z, *, name):
        return self._op("relu", name, z)

    def softmax(self, z, *, name):
        return self._op("softmax", name, z)

    def bce_with_logits(self, z, Y, *, name):
        return self._op("bce_with_logits", name, z, Y)

    def cross_entropy(self, scores, Y, *, name):
        return self._op("cross_entropy", name, scores, Y)

    def backward(self, output):
        """autograd's backward pass from ``output`` (a scalar): fills every kept tensor's ``.grad``."""
        output.backward()

    def values(self) -> dict:
        return {name: t.detach() for name, t in self.tensors.items()}

    def grads(self) -> dict:
        """{name: dJ/dnode}; zeros for a node the output does not depend on."""
        return {name: t.grad if t.grad is not None else torch.zeros_like(t) for name, t in self.tensors.items()}

    def name_of(self, tensor) -> str:
        return next(name for name, t in self.tensors.items() if t is tensor)

    def read_back(self, output) -> dict:
        """{name: (grad_fn type, parent names)} from autograd's record of ``output``, each node after its
        inputs: the graph walked from output.grad_fn through next_functions, unnamed functions passed
        through, leaves recognised by their AccumulateGrad's variable."""
        by_fn = {t.grad_fn: name for name, t in self.tensors.items() if t.grad_fn is not None}
        by_leaf = {id(t): name for name, t in self.tensors.items() if t.grad_fn is None}
        structure = {}

        def parents(fn):
            found = []
            for nxt, _ in fn.next_functions:
                if nxt is None:                                  # a constant (the 3 of 3v) or the labels
                    continue
                if type(nxt).__name__ == "AccumulateGrad":
                    found.append(by_leaf[id(nxt.variable)])
                else:
                    found += [by_fn[nxt]] if nxt in by_fn else parents(nxt)
            return found

        def visit(name):
            if name in structure:
                return
            fn = self.tensors[name].grad_fn
            names = parents(fn) if fn is not None else []
            for parent in names:
                visit(parent)
            structure[name] = (type(fn).__name__ if fn is not None else "AccumulateGrad", tuple(names))
        visit(self.name_of(output))
        return structure

    def trace(self, output) -> str:
        """Forward values (read back from autograd's graph, in its topological order), then the gradients."""
        structure = self.read_back(output)
        rows = [(name, fn if fn == "AccumulateGrad" else fn + "(" + ", ".join(ps) + ")",
                 format_tensor(self.tensors[name])) for name, (fn, ps) in structure.items()]
        grads = self.grads()
        lines = ["forward"] + _columns(rows) + [f"backward (d{self.name_of(output)}/dnode, .grad)"]
        return "\n".join(lines + _columns([(name, format_tensor(grads[name])) for name in reversed(structure)]))


def format_tensor(t) -> str:
    """A scalar as its value (6 significant digits), a tensor as its shape and its first entries."""
    t = t.detach().cpu()
    if t.numel() == 1:
        return f"{t.item():.6g}"
    head = ", ".join(f"{v:.4g}" for v in t.reshape(-1)[:3].tolist())
    return f"{tuple(t.shape)} [{head}{', ...' if t.numel() > 3 else ''}]"


def _columns(rows) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


class RecipeModule(nn.Module):
    """A recipe ``build(g) -> output`` as a module whose forward takes the inputs ``names`` in order
    (what SummaryWriter.add_graph traces)."""

    def __init__(self, build, names):
        super().__init__()
        self.build, self.names = build, tuple(names)

    def forward(self, *inputs):
        return self.build(Graph(inputs[0].device, feed=dict(zip(self.names, inputs))))


def add_graph(writer, build, device="cpu"):
    """Log the graph of recipe ``build`` to TensorBoard: ``writer.add_graph`` on its RecipeModule, traced
    with the recipe's own input values. Returns the input names."""
    probe = Graph(device)
    build(probe)
    names = [name for name, t in probe.tensors.items() if t.grad_fn is None]
    with warnings.catch_warnings():
        # add_graph traces with torch.jit (deprecated, still what it uses); the labels are constants by design
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        writer.add_graph(RecipeModule(build, names), tuple(probe.tensors[n].detach() for n in names))
    return names

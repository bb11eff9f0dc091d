"""The project's own NumPy layers, checked by the same tool: every one must pass.

``scratch_numpy.activations`` (against ``reference_torch.activations``, transposed to batch-first) with
the kink probe, and ``scratch_numpy.layers.linear_forward/_backward`` in the course's convention.
"""

from examples.cases import Case
from reference_torch import activations as torch_activations
from scratch_numpy import activations, layers


def torch_activation(name):
    """g(Z) by the torch twin, for a column-layout Z."""
    return lambda Z: torch_activations.apply(name, Z.T).T


def torch_linear(A_prev, W, b):
    return W @ A_prev + b


CASES = [
    *(Case(f"scratch_numpy.activations {name}", activations.FORWARD[name], activations.BACKWARD[name],
           dict(oracle=torch_activation(name), inputs={"Z": (4, 6)}, probe_kinks=True))
      for name in activations.NAMES),
    Case("scratch_numpy.layers linear", layers.linear_forward, layers.linear_backward,
         dict(oracle=torch_linear, inputs={"A_prev": (4, 6)}, params={"W": (3, 4), "b": (3, 1)},
              grad_convention="course", probe_kinks=True)),
]

"""Weight initialisation: W_l ~ N(0, 1) * scale(n_prev, n), b_l = 0.

    zeros    scale 0             (symmetry is never broken)
    small    0.01
    large    10
    xavier   sqrt(1 / n_prev)    the course's "Xavier" (tanh); NOT torch's xavier_normal_
    he       sqrt(2 / n_prev)    ReLU layers
    glorot   sqrt(2 / (n_prev + n))

``rng`` is an int seed, a ``numpy.random.Generator``, or a legacy
``numpy.random.RandomState``. The course seeds the legacy generator
(``np.random.seed(1)`` then ``np.random.randn``); passing
``np.random.RandomState(1)`` draws the very same numbers, layer by layer.
"""

from __future__ import annotations

import numpy as np

from .validation import as_rng, check_choice, check_layer_dims

SCALES = {
    "zeros": lambda n_prev, n: 0.0,
    "small": lambda n_prev, n: 0.01,
    "large": lambda n_prev, n: 10.0,
    "xavier": lambda n_prev, n: np.sqrt(1.0 / n_prev),
    "he": lambda n_prev, n: np.sqrt(2.0 / n_prev),
    "glorot": lambda n_prev, n: np.sqrt(2.0 / (n_prev + n)),
}
METHODS = tuple(SCALES)
DTYPES = ("float32", "float64")


def initialize_parameters(layer_dims, method: str = "he", rng=0, dtype: str = "float64"):
    """Parameters {W1, b1, ..., WL, bL} for layer sizes [n_x, n_1, ..., n_L].

    Shapes: W_l (n_l, n_{l-1}), b_l (n_l, 1). Weights are drawn in float64
    in the order W1, W2, ... (so a seeded RandomState reproduces the course)
    and then cast to ``dtype``.
    """
    check_choice("method", method, SCALES)
    check_choice("dtype", dtype, DTYPES)
    dims = check_layer_dims(layer_dims)
    rng = as_rng(rng)
    params = {}
    for l in range(1, len(dims)):
        n_prev, n = dims[l - 1], dims[l]
        if method == "zeros":
            W = np.zeros((n, n_prev))
        else:
            W = rng.standard_normal((n, n_prev)) * SCALES[method](n_prev, n)
        params[f"W{l}"] = W.astype(dtype)
        params[f"b{l}"] = np.zeros((n, 1), dtype=dtype)
    return params

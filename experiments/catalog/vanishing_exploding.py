"""Vanishing and exploding gradients (course 2, week 1): per-layer gradient norms of a deep
network whose weights are scaled by 1.5, by 0.5, or by He's sqrt(2 / n_prev).

A 30-layer network [2, 64 x 29, 1] on the moons points (sigmoid output), measured at
initialisation with the library's signal norms (scratch_numpy.signals, reference_torch.signals):
per layer l = 1..L, ||A_{l-1}|| (the layer's input), ||dA_{l-1}|| (the gradient flowing back into
it, per example: m dJ/dA) and ||dW_l||.

    identity-1.5, identity-0.5   the course's chain: W_l = c I (np.eye, rectangular at both ends),
                                 b = 0, linear hidden units. Closed form, with z = c^L x_1 and
                                 g = ||sigmoid(z) - y|| (1 x m):
                                     ||A_{l-1}||  = c^(l-1) ||X||
                                     ||dA_{l-1}|| = c^(L-l+1) g          (grows by c per layer back)
                                     ||dW_l||     = c^(L-1) ||(sigmoid(z) - y) X^T|| / m   (every l)
                                 so ||dA_0|| / ||dA_{L-1}|| = c^(L-1): 1.5^29 = 1.3e5, 0.5^29 = 1.9e-9.
    he-x1.5, he-x0.5, he         ReLU hidden units, W_l = c randn sqrt(2 / n_prev): in expectation
                                 E ||relu(W a)||^2 = c^2 ||a||^2, so the norms grow (or shrink) by
                                 about c per layer; He (c = 1) keeps them in a band.

Metrics: grad_ratio = ||dA_0|| / ||dA_{L-1}||; growth_per_layer = exp(slope) of the least-squares
line through log ||dA_{l-1}|| against the distance L - l from the output; grad_band =
log10(max / min) of ||dA_{l-1}|| over the layers; weight_grad_ratio = ||dW_1|| / ||dW_L||;
closed_form_error (identity chains) = the largest relative gap between the three measured
profiles and the closed form above. Nothing is trained: the signals at initialisation are the claim.

TensorBoard: the profiles against depth, step = layer l: <experiment>/<variant>/grad_norm_A/layer
(||dA_{l-1}||), grad_norm_W/layer (||dW_l||), activation_norm/layer (||A_{l-1}||) and, for identity
chains, closed_form_grad_norm_A/layer; the
figure signal_profile in the variant's last run: ||A_(l-1)||, ||dA_(l-1)|| and ||dW_l|| against
the layer, log scale, one line per implementation (and the closed form), also saved as
<root>/<variant>/signal_profile.png (experiments.figures).
"""

import numpy as np

from experiments import datasets, figures, sides
from experiments.runner import Claim, Experiment, Outcome, Variant
from scratch_numpy.signals import identity_params

NAME = "vanishing_exploding"
FIGURE = "signal_profile"   # the figure's name: TensorBoard tag and PNG file (experiments.figures.publish)
DEPTH, WIDTH = 30, 64
DIMS = (2, *([WIDTH] * (DEPTH - 1)), 1)
VARIANTS = {"identity-1.5": ("identity", 1.5), "identity-0.5": ("identity", 0.5),
            "he-x1.5": ("he", 1.5), "he-x0.5": ("he", 0.5), "he": ("he", 1.0)}


def variants(settings):
    return [Variant(name, {"weights": kind, "c": c, "depth": DEPTH, "width": WIDTH, "init_seed": settings.seed})
            for name, (kind, c) in VARIANTS.items()]


def initial_params(hp: dict, dtype: str) -> dict:
    """identity: W_l = c I; he: W_l = c * He draw (default_rng(init_seed), layer by layer)."""
    if hp["weights"] == "identity":
        return identity_params(DIMS, hp["c"], dtype)
    params = sides.NetSpec(DIMS).init_params("he", np.random.default_rng(hp["init_seed"]), "float64")
    return {k: (hp["c"] * v if k[0] == "W" else v).astype(dtype) for k, v in params.items()}


def closed_form(c: float, X: np.ndarray, Y: np.ndarray):
    """The identity chain's (activations, gradients, weight_gradients) profiles, each (L,)."""
    L, m = DEPTH, X.shape[1]
    layers = np.arange(1, L + 1)
    dZ = 0.5 * (1 + np.tanh(c ** L * X[0] / 2)) - Y[0]   # (m,): sigmoid(c^L x_1) - y, tanh: no overflow
    activations = c ** (layers - 1) * np.linalg.norm(X)
    gradients = c ** (L - layers + 1) * np.linalg.norm(dZ)
    weight_gradients = np.full(L, c ** (L - 1) * np.linalg.norm(X @ dZ) / m)
    return activations, gradients, weight_gradients


def growth_per_layer(gradients: np.ndarray) -> float:
    """exp(slope) of log g_l = a + slope (L - l): the geometric factor per layer towards the input."""
    distance = DEPTH - np.arange(1, DEPTH + 1)
    return float(np.exp(np.polyfit(distance, np.log(gradients), 1)[0]))


def profile_metrics(signals) -> dict:
    g, w = np.asarray(signals.gradients, float), np.asarray(signals.weight_gradients, float)
    return {"grad_ratio": g[0] / g[-1], "log10_grad_ratio": np.log10(g[0] / g[-1]),
            "growth_per_layer": growth_per_layer(g), "grad_band": np.log10(g.max() / g.min()),
            "weight_grad_ratio": w[0] / w[-1], "weight_grad_max": w.max()}


def log_profiles(logger, signals, expected) -> None:
    for l in range(1, DEPTH + 1):
        logger.scalar("grad_norm_A", signals.gradients[l - 1], l, "layer")   # ||dA_(l-1)||
        logger.scalar("grad_norm_W", signals.weight_gradients[l - 1], l, "layer")
        logger.scalar("activation_norm", signals.activations[l - 1], l, "layer")   # ||A_(l-1)||
        if expected is not None:
            logger.scalar("closed_form_grad_norm_A", expected[1][l - 1], l, "layer")


def run(trial):
    hp, dtype = trial.hp, trial.settings.dtype
    net = sides.NetSpec(DIMS, "linear" if hp["weights"] == "identity" else "relu", "sigmoid")
    side = sides.network(trial, net, initial_params(hp, dtype), trial.data)
    signals = side.signal_norms()
    metrics = profile_metrics(signals)
    metrics["initial_cost"] = side.cost("train")
    expected = None
    if hp["weights"] == "identity":
        expected = closed_form(hp["c"], trial.data.train.X, trial.data.train.Y)
        metrics["closed_form_error"] = max(float(np.max(np.abs(got - want) / want))
                                           for got, want in zip(signals, expected))
    log_profiles(trial.logger, signals, expected)
    outcome = Outcome(metrics)
    outcome.signals = signals   # the torch run's figure overlays the NumPy run's profile (trial.reference)
    if trial.last_of_variant:   # both sides' profiles, NumPy first (experiments.figures.signal_profiles)
        profiles = {**({"numpy": trial.reference.signals} if trial.reference is not None else {}),
                    trial.impl: signals}
        title = f"{NAME} / {trial.variant.name}: signal norms at initialisation"
        figures.publish(trial.logger, NAME, trial.variant.name, FIGURE,
                        figures.signal_profiles(profiles, title, expected), 0)
    return outcome


def _ratio_is(m, name, c):
    # 1e-6: float64 gives ~5e-16, float32 (--dtype) ~2.5e-7 (measured)
    return abs(m[name]["grad_ratio"] / c ** (DEPTH - 1) - 1) < 1e-6 and m[name]["closed_form_error"] < 1e-6


EXPERIMENT = Experiment(
    name=NAME,
    claim="W = 1.5 I explodes (gradient x 1.5^29 towards the input), 0.5 I vanishes (x 0.5^29), He stays in a band",
    dataset="moons (course_toy_sets.h5)",
    variants=variants,
    run=run,
    load=lambda settings: datasets.toy_set("moons", settings.data_dir),
    claims=(
        Claim("W = 1.5 I: ||dA_0|| / ||dA_(L-1)|| = 1.5^(L-1) and every norm follows the closed form",
              ("identity-1.5",), lambda m: _ratio_is(m, "identity-1.5", 1.5)),
        Claim("W = 0.5 I: ||dA_0|| / ||dA_(L-1)|| = 0.5^(L-1) and every norm follows the closed form",
              ("identity-0.5",), lambda m: _ratio_is(m, "identity-0.5", 0.5)),
        Claim("1.5 x He explodes: the gradient grows by 1.5 +- 0.15 per layer towards the input, over 1000x in all",
              ("he-x1.5",), lambda m: abs(m["he-x1.5"]["growth_per_layer"] - 1.5) < 0.15
              and m["he-x1.5"]["grad_ratio"] > 1e3),
        Claim("0.5 x He vanishes: the gradient shrinks by 0.5 +- 0.05 per layer, below 1/1000 in all",
              ("he-x0.5",), lambda m: abs(m["he-x0.5"]["growth_per_layer"] - 0.5) < 0.05
              and m["he-x0.5"]["grad_ratio"] < 1e-3),
        Claim("He keeps every layer's gradient within one decade (growth per layer 1 +- 0.1)", ("he",),
              lambda m: m["he"]["grad_band"] < 1 and abs(m["he"]["growth_per_layer"] - 1) < 0.1),
    ),
)

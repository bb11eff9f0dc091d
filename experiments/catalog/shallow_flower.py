"""One hidden layer on the planar "flower" (course 1, week 3): a hidden layer learns the
non-linear boundary logistic regression cannot, and linear activations collapse to a linear model.

The course's 400 points (course_toy_sets.h5), sigmoid output, weights randn * 0.01 after
np.random.seed(2), full-batch gradient descent at rate 1.2 for 10000 iterations. Published:
4 tanh units about 90 % (90.75 %); logistic regression 47 %. Variants: tanh hidden layers of
1, 2, 3, 4, 5, 20, 50 units; 4 ReLU units; 4 linear units; logistic regression from zeros.

With a linear hidden activation the network computes W2 (W1 x + b1) + b2, one affine map:
``collapse_residual`` is the largest difference between its scores and those of the single
affine map (W2 W1, W2 b1 + b2), i.e. rounding.
"""

import numpy as np

from experiments import datasets, sides, trainers
from experiments.runner import Chaos, Claim, Experiment, Variant

# At rate 1.2 full-batch GD on the flower is chaotic: NumPy and torch agree to ~1e-12 for thousands
# of iterations, then a last-bit difference (the order of a sum) grows until the costs part, and
# the run ends on 90.75 % or 90.50 % (measured: torch on this project's CPUs, and NumPy itself with
# another OpenBLAS kernel): figures within one example of the 400.
CHAOS = Chaos("rate 1.2 amplifies last-bit differences in the arithmetic (the order of a sum)", slack=1 / 400)
HIDDEN = ("tanh-1", "tanh-2", "tanh-3", "tanh-4", "tanh-5", "tanh-20", "tanh-50", "relu-4", "linear-4")


def variants(settings):
    hp = {"lr": 1.2, "iterations": settings.budget(10000, 1000)}
    published = {"tanh-4": {"train_accuracy": "90.75 %"}, "logistic": {"train_accuracy": "47 %"}}
    # the chaos is measured on the variant with a published figure; the others' pairs show their own
    # parting in the report ("parts at N") and have no figure to judge
    return [Variant(name, {**hp, "model": name}, published.get(name, {}), chaos=CHAOS if name == "tanh-4" else None)
            for name in (*HIDDEN, "logistic")]


def collapse_residual(params: dict, X: np.ndarray) -> float:
    """max |W2 (W1 X + b1) + b2 - ((W2 W1) X + (W2 b1 + b2))| over the points X."""
    layered = params["W2"] @ (params["W1"] @ X + params["b1"]) + params["b2"]
    affine = (params["W2"] @ params["W1"]) @ X + (params["W2"] @ params["b1"] + params["b2"])
    return float(np.abs(layered - affine).max())


def run(trial):
    name = trial.hp["model"]
    if name == "logistic":
        side = sides.logistic(trial, trial.data)
    else:
        activation, units = name.split("-")
        spec = sides.NetSpec((2, int(units), 1), activation, "sigmoid")
        side = sides.network(trial, spec, spec.init_params("small", np.random.RandomState(2), trial.settings.dtype),
                             trial.data)
    outcome = trainers.full_batch(trial, side, lr=trial.hp["lr"], iterations=trial.hp["iterations"])
    if name.startswith("linear"):
        outcome.metrics["collapse_residual"] = collapse_residual(outcome.params, trial.data.train.X)
    return outcome


def _accuracy(m, name):
    return m[name]["train_accuracy"]


EXPERIMENT = Experiment(
    name="shallow_flower",
    claim="a tanh hidden layer separates the flower (90.75 %), logistic regression cannot (47 %); linear ones collapse",
    dataset="planar flower (course_toy_sets.h5)",
    variants=variants,
    run=run,
    load=lambda settings: datasets.toy_set("planar_flower", settings.data_dir),
    claims=(
        Claim("4 tanh units beat logistic regression by over 20 points", ("tanh-4", "logistic"),
              lambda m: _accuracy(m, "tanh-4") > _accuracy(m, "logistic") + 0.2),
        Claim("4 ReLU units also beat logistic regression by over 20 points", ("relu-4", "logistic"),
              lambda m: _accuracy(m, "relu-4") > _accuracy(m, "logistic") + 0.2),
        Claim("linear units collapse to one affine map and do no better than logistic regression (within 3 points)",
              ("linear-4", "logistic"),
              lambda m: m["linear-4"]["collapse_residual"] < 1e-4
              and _accuracy(m, "linear-4") < _accuracy(m, "logistic") + 0.03),
        Claim("one or two units are too few: 4 units fit better", ("tanh-1", "tanh-2", "tanh-4"),
              lambda m: _accuracy(m, "tanh-4") > max(_accuracy(m, "tanh-1"), _accuracy(m, "tanh-2")) + 0.1),
        Claim("beyond 5 units the fit no longer improves (20 and 50 within 2 points of 5)",
              ("tanh-5", "tanh-20", "tanh-50"),
              lambda m: max(_accuracy(m, "tanh-20"), _accuracy(m, "tanh-50")) < _accuracy(m, "tanh-5") + 0.02,
              full_budget=True),
    ),
)

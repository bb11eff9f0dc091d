"""Initialisation (course 2, week 1): zeros never break the symmetry, large random weights start
far off and train badly, He initialisation trains.

Circles set (course_toy_sets.h5), layers [2, 10, 5, 1], ReLU hidden layers, sigmoid output,
full-batch gradient descent at rate 0.01 for 15000 iterations, weights drawn as the course
draws them (np.random.seed(3), then W1, W2, W3). The course's figures (train / test):
zeros 50 % / 50 %, randn * 10 83 % / 86 %, He (randn * sqrt(2 / n_prev)) 99.33 % / 96 %.

Symmetry: under zeros every hidden unit of a layer computes the same function and gets the same
gradient, so the units stay identical; ``hidden_units_spread`` is the largest difference between
two rows of a hidden layer's W (0 means identical units). The course prints "cost inf" at
iteration 0 for randn * 10; Twinprop evaluates the cost on the logits, so it is large but finite,
and the gradients (A - Y, the course's) and hence the trajectory are the course's.
"""

import numpy as np

from experiments import datasets, sides, trainers
from experiments.runner import Claim, Experiment, Variant

SPEC = sides.NetSpec((2, 10, 5, 1), "relu", "sigmoid")
PUBLISHED = {"zeros": ("50 %", "50 %"), "large": ("83 %", "86 %"), "he": ("99.33 %", "96 %")}


def variants(settings):
    iterations = settings.budget(15000, 5000)
    return [Variant(method, {"init": method, "lr": 0.01, "iterations": iterations, "init_seed": 3},
                    {"train_accuracy": train, "test_accuracy": test})
            for method, (train, test) in PUBLISHED.items()]


def hidden_units_spread(params: dict, layers: int) -> float:
    """max over the hidden layers l of max_i |[W_l b_l][i] - [W_l b_l][0]| (rows are units)."""
    spreads = []
    for l in range(1, layers):
        units = np.hstack([params[f"W{l}"], params[f"b{l}"]])
        spreads.append(float(np.abs(units - units[:1]).max()))
    return max(spreads)


def run(trial):
    params0 = SPEC.init_params(trial.hp["init"], np.random.RandomState(trial.hp["init_seed"]), trial.settings.dtype)
    side = sides.network(trial, SPEC, params0, trial.data)
    outcome = trainers.full_batch(trial, side, lr=trial.hp["lr"], iterations=trial.hp["iterations"])
    outcome.metrics["hidden_units_spread"] = hidden_units_spread(outcome.params, len(SPEC.layer_dims) - 1)
    return outcome


EXPERIMENT = Experiment(
    name="initialisation",
    claim="zeros keep hidden units identical (50 %), large random weights train badly, He trains (99 %/96 %)",
    dataset="circles (course_toy_sets.h5)",
    variants=variants,
    run=run,
    load=lambda settings: datasets.toy_set("circles", settings.data_dir),
    claims=(
        Claim("zeros: the hidden units stay identical and the accuracy stays at chance (50 %)", ("zeros",),
              lambda m: m["zeros"]["hidden_units_spread"] == 0 and m["zeros"]["train_accuracy"] == 0.5),
        Claim("large random weights start with a cost over 10x He's", ("large", "he"),
              lambda m: m["large"]["initial_cost"] > 10 * m["he"]["initial_cost"]),
        Claim("He ends with the lowest cost and the best train accuracy", ("zeros", "large", "he"),
              lambda m: m["he"]["final_cost"] < min(m["zeros"]["final_cost"], m["large"]["final_cost"])
              and m["he"]["train_accuracy"] > max(m["zeros"]["train_accuracy"], m["large"]["train_accuracy"])),
    ),
)

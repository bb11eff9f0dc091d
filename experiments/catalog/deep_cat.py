"""Deeper networks on the cat images (course 1, week 4): the 4-layer network generalises better
than the 2-layer one.

Both from the course's initial weights (np.random.seed(1), layer by layer), ReLU hidden layers,
sigmoid output, full-batch gradient descent at rate 0.0075 for 2500 iterations:

    2-layer  [12288, 7, 1]          randn * 0.01            cost 0.6930497 at iteration 0; train 100 %, test 72 %
    4-layer  [12288, 20, 7, 5, 1]   randn / sqrt(n_prev)    cost 0.7717493 at iteration 0; train 98.56 %, test 80 %
"""

import numpy as np

from experiments import datasets, sides, trainers
from experiments.runner import Claim, Experiment, Variant

NETWORKS = {
    "2-layer": ((12288, 7, 1), "small", {"initial_cost": "0.6930497356599888", "train_accuracy": "100 %",
                                         "test_accuracy": "72 %"}),
    "4-layer": ((12288, 20, 7, 5, 1), "xavier", {"initial_cost": "0.7717493284237686", "train_accuracy": "98.56 %",
                                                 "test_accuracy": "80 %"}),
}


def variants(settings):
    return [Variant(name, {"layers": str(list(dims)), "init": init, "init_seed": 1, "lr": 0.0075,
                           "iterations": settings.budget(2500, 50)}, published)
            for name, (dims, init, published) in NETWORKS.items()]


def run(trial):
    spec = sides.NetSpec(NETWORKS[trial.variant.name][0], "relu", "sigmoid")
    params0 = spec.init_params(trial.hp["init"], np.random.RandomState(trial.hp["init_seed"]), trial.settings.dtype)
    side = sides.network(trial, spec, params0, trial.data)
    return trainers.full_batch(trial, side, lr=trial.hp["lr"], iterations=trial.hp["iterations"])


EXPERIMENT = Experiment(
    name="deep_cat",
    claim="from the course's weights, 2 layers reach 100 %/72 % and 4 layers 98.56 %/80 %: depth generalises better",
    dataset="cat images (train/test_catvnoncat.h5)",
    variants=variants,
    run=run,
    load=lambda settings: datasets.cat_images(settings.data_dir, settings.seed),
    claims=(
        Claim("gradient descent lowers the cost of both networks", ("2-layer", "4-layer"),
              lambda m: all(m[v]["final_cost"] < m[v]["initial_cost"] for v in ("2-layer", "4-layer"))),
        Claim("the 4-layer network has the better test accuracy", ("2-layer", "4-layer"),
              lambda m: m["4-layer"]["test_accuracy"] > m["2-layer"]["test_accuracy"], full_budget=True),
    ),
)

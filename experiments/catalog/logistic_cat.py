"""Logistic regression on the cat images (course 1, week 2): a linear model fits the training set
and overfits; the learning rate decides how well it fits.

X is the 209 training images flattened to 12288 rows and divided by 255; w = 0, b = 0;
full-batch gradient descent. The course's run, 2000 iterations at rate 0.005: cost 0.693147
(ln 2) at iteration 0, train 99.04 %, test 70 %. Its sweep, 1500 iterations at rates 0.01,
0.001 and 0.0001: the larger the rate, the lower the final cost and the better the training
set is fit (the test accuracy stays far below: overfitting).
"""

import math

from experiments import datasets, sides, trainers
from experiments.runner import Claim, Experiment, Variant

SWEEP = ("0.01", "0.001", "0.0001")


def variants(settings):
    main = Variant("lr0.005", {"lr": 0.005, "iterations": settings.budget(2000, 100)},
                   {"cost_epoch_0": "0.693147", "cost_epoch_100": "0.584508", "train_accuracy": "99.04 %",
                    "test_accuracy": "70 %"})
    return [main] + [Variant(f"lr{lr}", {"lr": float(lr), "iterations": settings.budget(1500, 50)}) for lr in SWEEP]


def run(trial):
    side = sides.logistic(trial, trial.data)
    return trainers.full_batch(trial, side, lr=trial.hp["lr"], iterations=trial.hp["iterations"])


EXPERIMENT = Experiment(
    name="logistic_cat",
    claim="logistic regression from w = 0 fits the cat images (99.04 %) but overfits (test 70 %); the rate sets it",
    dataset="cat images (train/test_catvnoncat.h5)",
    variants=variants,
    run=run,
    load=lambda settings: datasets.cat_images(settings.data_dir, settings.seed),
    claims=(
        Claim("the cost starts at ln 2 (w = 0, b = 0)", ("lr0.005",),
              lambda m: abs(m["lr0.005"]["initial_cost"] - math.log(2)) < 1e-6),
        Claim("in the sweep, the larger the rate, the lower the final cost", tuple(f"lr{lr}" for lr in SWEEP),
              lambda m: m["lr0.01"]["final_cost"] < m["lr0.001"]["final_cost"] < m["lr0.0001"]["final_cost"],
              full_budget=True),
        Claim("it overfits: train accuracy over 20 points above test accuracy", ("lr0.005",),
              lambda m: m["lr0.005"]["train_accuracy"] > m["lr0.005"]["test_accuracy"] + 0.2, full_budget=True),
    ),
)

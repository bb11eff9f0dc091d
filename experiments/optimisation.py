"""The course's optimisation exercise (course 2, week 2), shared by the experiments that train on
the moons set: optimisers, batch_size and lr_decay.

The course's 300 moons points (course_toy_sets.h5), layers [2, 5, 2, 1], ReLU hidden layers,
sigmoid output, He initialisation after np.random.seed(3), and its mini-batch order: its model()
sets seed = 10 and adds 1 before each epoch's shuffle, so epoch e is shuffled by
np.random.seed(11 + e); np.random.permutation(m) (scratch_numpy.minibatch.course_permutation).
A variant's hparams name the optimiser and its hyperparameters, the rate, the batch size, the
epochs, and optionally a learning-rate schedule with its hyperparameters and delay.
"""

from __future__ import annotations

import numpy as np

from reference_torch.optim import HYPERPARAMETERS
from scratch_numpy.minibatch import course_permutation
from scratch_numpy.contract import SCHEDULE_HYPERPARAMETERS

from . import datasets, sides, trainers

SPEC = sides.NetSpec((2, 5, 2, 1), "relu", "sigmoid")
INIT_SEED = 3
FIRST_SHUFFLE_SEED = 11


def load(settings):
    return datasets.toy_set("moons", settings.data_dir)


def course_permutations(m: int, epochs: int) -> list:
    return [course_permutation(m, FIRST_SHUFFLE_SEED + e) for e in range(epochs)]


def schedule(hp: dict):
    """None, or {"name": hp["schedule"], its hyperparameters and its delay found in hp}
    (delay 1: the course's loop, which sets the rate after each epoch)."""
    if "schedule" not in hp:
        return None
    keys = (*SCHEDULE_HYPERPARAMETERS[hp["schedule"]], "delay")
    return {"name": hp["schedule"], **{k: hp[k] for k in keys if k in hp}}


def run(trial):
    hp = trial.hp
    params0 = SPEC.init_params("he", np.random.RandomState(INIT_SEED), trial.settings.dtype)
    side = sides.network(trial, SPEC, params0, trial.data)
    return trainers.mini_batch(
        trial, side, optimizer=hp["optimizer"], lr=hp["lr"], epochs=hp["epochs"], batch_size=hp["batch_size"],
        hyperparameters={k: hp[k] for k in HYPERPARAMETERS[hp["optimizer"]] if k in hp},
        permutations=course_permutations(trial.data.train.m, hp["epochs"]), schedule=schedule(hp))

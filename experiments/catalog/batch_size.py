"""Batch, mini-batch and stochastic gradient descent (course 2, week 2): for the same number of
epochs, smaller batches make more updates and get further, with noisier costs and more time
per epoch.

The course's optimisation setup (experiments.optimisation) with plain gradient descent at rate
0.0007 and batches of all 300 examples (batch GD, one update per epoch), 64 (mini-batch, 5
updates) and 1 (stochastic, 300 updates). ``cost_jitter`` is the mean |change| of the cost
from one update to the next, relative to the mean cost; ``seconds_per_epoch`` includes the
loop's per-epoch accuracy and the logging during training.
"""

import numpy as np

from experiments import optimisation
from experiments.runner import Claim, Experiment, Variant

BATCHES = {"batch": 300, "minibatch": 64, "stochastic": 1}


def variants(settings):
    return [Variant(name, {"optimizer": "gd", "lr": 0.0007, "batch_size": size, "epochs": settings.budget(50, 5)})
            for name, size in BATCHES.items()]


def run(trial):
    outcome = optimisation.run(trial)
    costs = np.asarray(outcome.costs)
    outcome.metrics["seconds_per_epoch"] = outcome.seconds / trial.hp["epochs"]
    outcome.metrics["cost_jitter"] = float(np.abs(np.diff(costs)).mean() / costs.mean()) if len(costs) > 1 else 0.0
    return outcome


def _ordered(m, metric, ascending):
    values = [m[name][metric] for name in BATCHES]
    return all((a < b) == ascending for a, b in zip(values, values[1:]))


EXPERIMENT = Experiment(
    name="batch_size",
    claim="per epoch, smaller batches get further (more updates) with noisier costs and slower epochs",
    dataset="moons (course_toy_sets.h5)",
    variants=variants,
    run=run,
    load=optimisation.load,
    claims=(
        Claim("final cost: stochastic < mini-batch < batch", tuple(BATCHES),
              lambda m: _ordered(m, "final_cost", ascending=False)),
        Claim("cost jitter: batch < mini-batch < stochastic", tuple(BATCHES),
              lambda m: _ordered(m, "cost_jitter", ascending=True)),
        Claim("an epoch of stochastic GD takes longer than one of batch GD", ("batch", "stochastic"),
              lambda m: m["stochastic"]["seconds_per_epoch"] > m["batch"]["seconds_per_epoch"]),
    ),
)

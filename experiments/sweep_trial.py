"""One trial of a sweep (experiments.sweep), as it runs in a Ray worker: ``trainable(config)``.

The config is the trial's samples {axis key: sample} (experiments.search.Space) and, under
``SWEEP``, the sweep's constants (plain JSON: experiment, root, logdir, data_dir, seed, dtype,
quick). The trial is one variant, named after the trial (trial_name), hparams = the space's base
+ its hyperparameters, run through the shared runner (runner.run_one: the usual logging, figures
and divergence) on both sides with the same initial weights (the experiment draws them from the
hparams and the seed), in <root>/<trial>/{numpy,torch}:

    NumPy       after each epoch: {"epoch": e (1..E), <metric>: space.progress(...)} to Tune, the
                run's events flushed first (so an early stop leaves its epochs in the run directory)
    torch       runs only if the scheduler let the NumPy run finish (an ASHA stop ends the trial
                during its NumPy run: the torch side of a stopped trial never runs); the NumPy
                outcome is its reference
    final       the pair's row (pairing.pair_row) saved as <root>/<trial>/row.json, then one last
                report at epoch E + 1: <metric> (NumPy's), numpy, torch, difference (|NumPy - torch|
                of the metric), finished: True

A trial that Tune restarts (``--resume`` of an interrupted sweep: an unfinished trial starts again
from epoch 0) first removes what its interrupted attempt logged, so its run directory holds one run.
NumPy, BLAS and torch use one thread (the workers' environment, experiments.sweep.start_ray, and
runner.configured); the torch side runs on the CPU.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ray import tune

from . import pairing, runner
from .catalog import EXPERIMENTS
from .settings import make_settings

SWEEP = "sweep"        # the config's key of the sweep's constants
ROW = "row.json"       # a finished trial's pair_row, in <root>/<trial>
FINISHED = "finished"  # the final report's flag


def trial_name(trial) -> str:
    """trial-<k>: k the trial's number in its sweep (the counter that starts Tune's experiment tag:
    from 0 for random and grid search, from 1 for tpe). Module-level: a restored sweep pickles it."""
    return f"trial-{int(trial.experiment_tag.split('_')[0])}"


def trainable(config: dict) -> None:
    """The Tune function trainable (module docstring)."""
    sweep = config[SWEEP]
    experiment = EXPERIMENTS[sweep["experiment"]]
    space = experiment.space
    settings = make_settings(impl="both", device="cpu", dtype=sweep["dtype"], logdir=sweep["logdir"],
                             data_dir=sweep["data_dir"], seed=sweep["seed"], quick=sweep["quick"])
    name = tune.get_context().get_trial_name()
    root = Path(sweep["root"])
    variant = runner.Variant(name, {**space.base(settings), **space.hparams(config)})
    if (root / name).exists():   # an interrupted attempt of this trial: Tune restarts it from epoch 0
        shutil.rmtree(root / name)
    data = runner.load_data(experiment, settings)

    def report(trial, epoch, history, side):
        trial.logger.writer.flush()
        tune.report({"epoch": epoch + 1, space.metric: float(space.progress(history, side))})

    def both():
        ran = {"numpy": runner.run_one(experiment, settings, variant, "numpy", data, root, None, {}, progress=False,
                                       report=report)}
        ran["torch"] = runner.run_one(experiment, settings, variant, "torch", data, root, ran["numpy"], {},
                                      progress=False)
        return pairing.pair_row(variant, ran, settings)

    row = runner.configured(settings, both)
    tmp = root / name / f".{ROW}.{os.getpid()}"
    tmp.write_text(json.dumps(row, indent=1))
    os.replace(tmp, root / name / ROW)
    numpy_, torch_ = (row["metrics"][impl][space.metric] for impl in ("numpy", "torch"))
    tune.report({"epoch": variant.hparams["epochs"] + 1, space.metric: numpy_, "numpy": numpy_, "torch": torch_,
                 "difference": abs(numpy_ - torch_), FINISHED: True})


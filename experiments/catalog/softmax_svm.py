"""Softmax and SVM classifiers on spirals (cs231n): a linear classifier cannot separate three
spirals, a hidden ReLU layer can; and the two losses judge the same scores differently.

cs231n's spiral set, 3 arms of 100 points, generated with --seed. Linear classifiers [2, 3] and
affine-ReLU-affine nets [2, 100, 3], each with the softmax cross-entropy and with the SVM hinge
(delta 1, scratch_numpy.models' "linear" output), weights randn * 0.01 from --seed, full-batch
gradient descent at rate 1.0.

The same scores, both losses: ``hinge_zero_fraction`` and ``softmax_zero_fraction`` are the
shares of examples whose loss is exactly 0 on the final scores. The SVM is satisfied once every
margin reaches delta; the softmax never is (its loss reaches 0 only by rounding, for margins
beyond about 37 in float64 and 17 in float32). The score example (cs231n's notes, correct class
first): the scores [10, 9, 9] (a margin of exactly 1) and [10, -100, -100] both cost the SVM
0, while the softmax charges [10, 9, 9] far more.
"""

import numpy as np

from experiments import datasets, generators, sides, trainers
from experiments.runner import Claim, Experiment, Outcome, Variant
from reference_torch import bridge
from reference_torch import losses as t_losses
from scratch_numpy import losses as n_losses

MODELS = {"linear-softmax": ((2, 3), "softmax"), "linear-svm": ((2, 3), "linear"),
          "net-softmax": ((2, 100, 3), "softmax"), "net-svm": ((2, 100, 3), "linear")}
EXAMPLES = {"10_9_9": [10.0, 9.0, 9.0], "10_-100_-100": [10.0, -100.0, -100.0]}


def variants(settings):
    hp = {"lr": 1.0, "iterations": settings.budget(2000, 1000), "init_seed": settings.seed}
    return [Variant(name, {**hp, "model": name}) for name in MODELS] + [Variant("score-example")]


def per_example_losses(trial, scores: np.ndarray, Y: np.ndarray) -> dict:
    """{"hinge": ..., "softmax": ...} of each example (column of scores (C, m)), with the
    trial's implementation of the two losses."""
    m = scores.shape[1]
    if trial.impl == "numpy":
        return {name: np.array([loss(scores[:, [i]], Y[:, [i]])[0] for i in range(m)])
                for name, loss in (("hinge", n_losses.svm_hinge), ("softmax", n_losses.softmax_cross_entropy))}
    S, y = bridge.data_to_torch(scores, Y, trial.device)
    return {name: np.array([float(loss(S[i:i + 1], y[i:i + 1])) for i in range(m)])
            for name, loss in (("hinge", t_losses.svm_hinge), ("softmax", t_losses.softmax_cross_entropy))}


def score_example(trial) -> Outcome:
    scores = np.array(list(EXAMPLES.values()), dtype=trial.settings.dtype).T   # (3 classes, 2 examples)
    losses = per_example_losses(trial, scores, np.zeros((1, scores.shape[1]), dtype=np.int64))
    metrics = {f"{loss}_{name}": float(values[i]) for loss, values in losses.items()
               for i, name in enumerate(EXAMPLES)}
    return Outcome(metrics)


def run(trial):
    if trial.variant.name == "score-example":
        return score_example(trial)
    dims, output = MODELS[trial.hp["model"]]
    spec = sides.NetSpec(dims, "relu", output)
    params0 = spec.init_params("small", np.random.RandomState(trial.hp["init_seed"]), trial.settings.dtype)
    side = sides.network(trial, spec, params0, trial.data)
    outcome = trainers.full_batch(trial, side, lr=trial.hp["lr"], iterations=trial.hp["iterations"])
    for loss, values in per_example_losses(trial, side.scores(), trial.data.train.Y).items():
        outcome.metrics[f"{loss}_zero_fraction"] = float((values == 0).mean())
    return outcome


def load(settings):
    return datasets.generated("spirals", generators.make_spirals(100, 3, seed=settings.seed), seed=settings.seed)


EXPERIMENT = Experiment(
    name="softmax_svm",
    claim="a linear softmax/SVM cannot separate 3 spirals, a ReLU layer can; the SVM is satisfied, the softmax never",
    dataset="spirals (generated, --seed)",
    variants=variants,
    run=run,
    load=load,
    claims=(
        Claim("linear classifiers stay below 65 %, the ReLU nets exceed 90 %", tuple(MODELS),
              lambda m: max(m["linear-softmax"]["train_accuracy"], m["linear-svm"]["train_accuracy"]) < 0.65
              and min(m["net-softmax"]["train_accuracy"], m["net-svm"]["train_accuracy"]) > 0.9),
        Claim("on the SVM net's scores the hinge is 0 for most examples, the softmax loss (but for rounding) for none",
              ("net-svm",), lambda m: m["net-svm"]["hinge_zero_fraction"] > 0.5
              and m["net-svm"]["softmax_zero_fraction"] < 0.05),
        Claim("scores [10, 9, 9] and [10, -100, -100]: hinge 0 for both, softmax far higher for [10, 9, 9]",
              ("score-example",), lambda m: m["score-example"]["hinge_10_9_9"] == 0
              and m["score-example"]["hinge_10_-100_-100"] == 0
              and m["score-example"]["softmax_10_9_9"] > 100 * m["score-example"]["softmax_10_-100_-100"]),
    ),
)

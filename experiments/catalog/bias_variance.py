"""Bias and variance (course 2, week 1; course 3's human-level error): the diagnosis table over
model sizes and L2 strengths.

Two concentric circles (radii 1 and 0.5, noise 0.05: separable) whose labels are flipped with
probability 0.1, so the Bayes error is 10 % (the best classifier, the true boundary, still
misses the flipped points): 100 training points (seed 1), 1000 dev points (seed 2). Networks
[2, n, n, 1], ReLU, sigmoid output, He weights from default_rng(seed), trained full-batch with
Adam at 0.05 (mini_batch with one batch of all 100 points) for 100 epochs (--quick) or 300. Not
longer: past ~400 steps the unregularised big nets' training turns chaotic (float64 rounding
differences double every ~20 steps; NumPy and torch were 1e-2 apart in cost by step 500 and
0.7 by step 1000, measured), so their parity would only hold to the first few hundred steps.
The parameters part much earlier than the costs (`run bias_variance --checkpoint-every 1
--keep-states`, then `diverge`; README "Where two runs part"): n-50 at step 94 (W2[24, 22], a
weight whose gradient cancels from step to step, scaled up by Adam's v_hat / sqrt(s_hat)),
n-50-l2-0.01 at 48, n-50-l2-0.1 at 76; n-1, n-3, n-10 and n-50-l2-1 stay within float64's band
through step 300; the costs then still agree to 7e-10.

    n-1, n-3, n-10, n-50          model sizes, no regularisation
    n-50-l2-0.01, -0.1, -1        the biggest model with L2, J + (lambda / 2m) sum ||W_l||_F^2

The diagnosis is the library's (scratch_numpy.diagnosis.diagnose) with the course's rule and
Bayes error 0.1: avoidable bias = train error - 0.1, variance = dev error - train error, each
high above 2 points. Metrics: the trainer's costs, train_accuracy, dev_accuracy (the side's
"test" split is the dev set: accuracy/dev/epoch in TensorBoard), train_error, dev_error,
avoidable_bias, variance (the gap), high_bias and high_variance (1 or 0). TensorBoard: the
hparams table (size, lambda -> errors and flags), a text ``diagnosis`` per run and
``diagnosis_table``: the rows of every variant run so far in this run of the experiment on that
implementation (the last variant's run holds the whole table).
"""

import numpy as np

from experiments import datasets, generators, sides, trainers
from experiments.runner import Claim, Experiment, Variant
from scratch_numpy.diagnosis import diagnose

FLIP = 0.1               # label noise: the Bayes error
SIZES = (1, 3, 10, 50)
LAMBDAS = (0.01, 0.1, 1.0)
BIGGEST = f"n-{SIZES[-1]}"
REGULARISED = tuple(f"{BIGGEST}-l2-{lam:g}" for lam in LAMBDAS)


def noisy_circles(m: int, seed: int) -> tuple:
    """make_circles(m, 0.05, seed, factor 0.5), each label flipped with probability FLIP
    (default_rng(seed + 100))."""
    X, Y = generators.make_circles(m, 0.05, seed=seed, factor=0.5)
    flip = np.random.default_rng(seed + 100).random(m) < FLIP
    return X, np.where(flip, 1 - Y, Y)


def load(settings):
    return datasets.generated("noisy circles", noisy_circles(100, 1), noisy_circles(1000, 2), seed=1)


def variants(settings):
    base = {"optimizer": "adam", "lr": 0.05, "epochs": settings.budget(300, 100), "bayes_error": FLIP,
            "init_seed": settings.seed}
    return ([Variant(f"n-{n}", {**base, "hidden": n, "l2_lambda": 0.0}) for n in SIZES]
            + [Variant(name, {**base, "hidden": SIZES[-1], "l2_lambda": lam})
               for name, lam in zip(REGULARISED, LAMBDAS)])


def diagnosis_row(variant, d) -> str:
    return (f"| {variant.name} | {variant.hparams['hidden']} | {variant.hparams['l2_lambda']:g} | {d.train_error:.1%} "
            f"| {d.dev_error:.1%} | {d.avoidable_bias:+.1%} | {d.variance:+.1%} | {d.case} |")


def log_table(trial, row: str) -> None:
    """Log the variant's row, and the table of this run's rows so far (kept in trial.context)."""
    rows = trial.context.setdefault("diagnosis_rows", [])
    rows.append(row)
    header = ("| variant | hidden units | lambda | train error | dev error | avoidable bias | variance | diagnosis |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- |\n")
    trial.logger.text("diagnosis", header + row)
    trial.logger.text("diagnosis_table", header + "\n".join(rows) + f"\n\nBayes error estimate {FLIP:.0%} "
                      "(label noise); high above 2 points.")


def run(trial):
    hp, n = trial.hp, trial.hp["hidden"]
    spec = sides.NetSpec((2, n, n, 1), "relu", "sigmoid", l2_lambda=hp["l2_lambda"])
    params0 = spec.init_params("he", np.random.default_rng(hp["init_seed"]), trial.settings.dtype)
    side = sides.network(trial, spec, params0, trial.data)
    outcome = trainers.mini_batch(trial, side, optimizer=hp["optimizer"], lr=hp["lr"], epochs=hp["epochs"],
                                  batch_size=trial.data.train.m, seed=0, held_out="dev")
    d = diagnose(1 - side.accuracy("train"), 1 - side.accuracy("test"), hp["bayes_error"])
    outcome.metrics["dev_accuracy"] = outcome.metrics.pop("test_accuracy")   # the side's "test" split is the dev set
    outcome.metrics.update(train_error=d.train_error, dev_error=d.dev_error, avoidable_bias=d.avoidable_bias,
                           variance=d.variance, high_bias=float(d.high_bias), high_variance=float(d.high_variance))
    log_table(trial, diagnosis_row(trial.variant, d))
    return outcome


def _gap(m, name):
    return m[name]["variance"]


EXPERIMENT = Experiment(
    name="bias_variance",
    claim="on noisy circles (Bayes 10 %): 1 unit is high bias, 50 units high variance, L2 closes the dev-train gap",
    dataset="noisy circles (generated: 10 % flipped labels, 100 train, 1000 dev)",
    variants=variants,
    run=run,
    load=load,
    shares_context=True,   # trial.context carries what later variants read
    claims=(
        Claim("the smallest model (1 unit per layer) is diagnosed high bias", ("n-1",),
              lambda m: m["n-1"]["high_bias"] == 1),
        Claim("the biggest unregularised model (50 units) is diagnosed high variance, not high bias", (BIGGEST,),
              lambda m: m[BIGGEST]["high_variance"] == 1 and m[BIGGEST]["high_bias"] == 0),
        Claim("the dev-train gap falls as lambda grows (0.01, 0.1, 1), and at 1 it is below the unregularised gap",
              (BIGGEST, *REGULARISED),
              lambda m: all(_gap(m, a) > _gap(m, b) for a, b in zip(REGULARISED, REGULARISED[1:]))
              and _gap(m, REGULARISED[-1]) < _gap(m, BIGGEST)),
        Claim("lambda = 1 removes the high variance (gap under 2 points)", (REGULARISED[-1],),
              lambda m: m[REGULARISED[-1]]["high_variance"] == 0),
    ),
)

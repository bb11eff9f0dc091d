"""Hyperparameter search (course 2, week 3): random beats a grid of the same budget, on a log
scale, then coarse to fine. Every trial is a variant, logged as TensorBoard hparams.

The objective: the dev cost J_dev of a [2, 10, 5, 1] ReLU network (He weights from
default_rng(seed)) trained with momentum (v = beta v + (1 - beta) dW) on mini-batches of 64 of the
course's 300 moons points, split 70 / 30 into train and dev (scratch_numpy.splits, stratified,
seed 0). Two hyperparameters, each on the scale it acts on (experiments.search):

    learning rate    alpha = 10^u, u ~ U(-4, 0)
    momentum         beta = 1 - 10^u, u ~ U(-3, -1)   (0.9 .. 0.999)

    grid-i     the 3 x 3 grid alpha in 10^{-4, -2, 0}, 1 - beta in 10^{-3, -2, -1}      (9 trials)
    random-i   9 random draws of (alpha, beta)                                         (9 trials)
    fine-i     coarse to fine: 4 random draws in the box zoom(best random trial) of a
               quarter of the width per axis (1 decade of alpha, half a decade of 1 - beta),
               the best being the random trial with the lowest dev cost on the same
               implementation; its position in the box (u_lr, u_beta in [0, 1)) is drawn
               with the others, so both implementations run the same fine trials whenever
               their coarse stages agree on the best trial                             (4 trials)

All draws come from one default_rng(seed) when the variants are declared: drawn once, the same
trials on both sides. Metrics per trial: dev_cost, dev_accuracy, the trainer's costs and train
accuracy, the lr and beta it used (log10_lr, log10_one_minus_beta), and for fine trials the box
(box_lr_low, box_lr_high, box_omb_low, box_omb_high in log10). A fine trial needs the random
trials of the same run before it (they are declared first); alone it is a ValueError.

``python -m experiments sweep hyperparameter_search`` searches the same two axes on Ray Tune, and
the first hidden layer's width, the course's third hyperparameter (SPACE: lr log-uniform over
10^[-4, 0], beta = 1 - 10^U(-3, -1), hidden_units an integer uniform over 2..20: the network
[2, hidden_units, 5, 1]; the base hparams of the random stage; minimising dev_cost, reported after
every epoch). The declared variants keep HIDDEN = 10 units.
"""

import numpy as np

from experiments import datasets, search, sides, trainers
from experiments.runner import Claim, Experiment, Variant
from scratch_numpy import splits

HIDDEN = 10            # the first hidden layer's units (a sweep trial draws its own: SPACE)
LR, OMB = (-4.0, 0.0), (-3.0, -1.0)    # log10 ranges of the learning rate and of 1 - beta
K, ZOOM = 3, 4.0       # a K x K grid and K^2 random trials; the fine box is 1/ZOOM as wide per axis
FINE = 4               # fine trials (fewer than K^2: every trial costs its run's logging and figures)
STAGES = {"grid": [f"grid-{i}" for i in range(K * K)], "random": [f"random-{i}" for i in range(K * K)],
          "fine": [f"fine-{i}" for i in range(FINE)]}


def load(settings):
    moons = datasets.toy_set("moons", settings.data_dir)
    (X, Y), (X_dev, Y_dev) = splits.split(moons.train.X, moons.train.Y, (0.7, 0.3), seed=0, stratify=True)
    return datasets.Dataset("moons 70/30", datasets.Split(X, Y), datasets.Split(X_dev, Y_dev),
                            f"{moons.source}, split 70/30 (train/dev, stratified, seed 0)", moons.course_data)


def shared_hparams(settings) -> dict:
    """The hparams every trial shares: optimiser, batch size, budget, the weights' seed."""
    return {"optimizer": "momentum", "batch_size": 64, "epochs": settings.budget(100, 5), "init_seed": settings.seed}


def variants(settings):
    rng = np.random.default_rng(settings.seed)
    base = shared_hparams(settings)
    grid = search.grid(search.log_grid(*LR, K), 1 - search.log_grid(*OMB, K))
    rand = zip(search.log_uniform(rng, *LR, K * K), search.one_minus_log(rng, *OMB, K * K))
    cube = rng.random((FINE, 2))
    return ([Variant(name, {**base, "stage": "grid", "lr": lr, "beta": beta}) for name, (lr, beta) in
             zip(STAGES["grid"], grid)]
            + [Variant(name, {**base, "stage": "random", "lr": float(lr), "beta": float(beta)}) for name, (lr, beta)
               in zip(STAGES["random"], rand)]
            + [Variant(name, {**base, "stage": "fine", "u_lr": float(u), "u_beta": float(v), "zoom": ZOOM})
               for name, (u, v) in zip(STAGES["fine"], cube)])


def fine_box(trial) -> tuple:
    """((low, high) of log10 lr, (low, high) of log10 (1 - beta)): the zoomed box around the best
    random trial of this run on this implementation (the random stage's trials leave theirs in
    trial.context["coarse"]: {variant: (log10 lr, log10 (1 - beta), dev cost)})."""
    coarse = trial.context.get("coarse")
    if not coarse or len(coarse) < K * K:
        raise ValueError(f"{trial.variant.name} zooms around the random stage's best trial: run it with all of "
                         f"{STAGES['random'][0]} .. {STAGES['random'][-1]} before it (no --variant)")
    best_lr, best_omb, _ = min(coarse.values(), key=lambda trial_: trial_[2])
    return search.zoom(best_lr, *LR, ZOOM), search.zoom(best_omb, *OMB, ZOOM)


def rates(trial) -> tuple:
    """(lr, beta, box or None) of the trial: its own, or placed in the fine box by (u_lr, u_beta)."""
    hp = trial.hp
    if hp["stage"] != "fine":
        return hp["lr"], hp["beta"], None
    (a, b), (c, d) = box = fine_box(trial)
    return 10 ** (a + hp["u_lr"] * (b - a)), 1 - 10 ** (c + hp["u_beta"] * (d - c)), box


def spec(hp) -> sides.NetSpec:
    """The trial's network [2, hidden_units, 5, 1] (HIDDEN units unless the trial sets its own)."""
    return sides.NetSpec((2, hp.get("hidden_units", HIDDEN), 5, 1), "relu", "sigmoid")


def run(trial):
    hp = trial.hp
    lr, beta, box = rates(trial)
    net = spec(hp)
    params0 = net.init_params("he", np.random.default_rng(hp["init_seed"]), trial.settings.dtype)
    side = sides.network(trial, net, params0, trial.data)
    outcome = trainers.mini_batch(trial, side, optimizer=hp["optimizer"], lr=lr, epochs=hp["epochs"],
                                  batch_size=hp["batch_size"], hyperparameters={"beta": beta}, seed=hp["init_seed"],
                                  held_out="dev")
    m = outcome.metrics
    m["dev_accuracy"] = m.pop("test_accuracy")   # the side's "test" split is the dev set here
    m.update(dev_cost=side.cost("test"), lr=lr, beta=beta, log10_lr=np.log10(lr),
             log10_one_minus_beta=np.log10(1 - beta))
    if box is not None:
        m.update(box_lr_low=box[0][0], box_lr_high=box[0][1], box_omb_low=box[1][0], box_omb_high=box[1][1])
    if hp["stage"] == "random":
        trial.context.setdefault("coarse", {})[trial.variant.name] = (
            m["log10_lr"], m["log10_one_minus_beta"], m["dev_cost"])
    return outcome


def _values(m, stage, metric):
    return [m[name][metric] for name in STAGES[stage]]


def _distinct(m, stage, metric):
    return len(set(_values(m, stage, metric)))


def _log_law(m):
    """The random stage's log10 lr and log10 (1 - beta) lie in their ranges and pass a KS test
    against the uniform law at the 1 % level."""
    ok = True
    for metric, (a, b) in (("log10_lr", LR), ("log10_one_minus_beta", OMB)):
        u = _values(m, "random", metric)
        ok &= all(a <= x < b for x in u) and search.ks_pvalue(search.ks_uniform(u, a, b), len(u)) > 0.01
    return ok


def _box_holds_best(m):
    best = min(STAGES["random"], key=lambda name: m[name]["dev_cost"])
    f = m[STAGES["fine"][0]]
    return (f["box_lr_low"] <= m[best]["log10_lr"] <= f["box_lr_high"]
            and f["box_omb_low"] <= m[best]["log10_one_minus_beta"] <= f["box_omb_high"])


# a sweep trial is a trial of its own stage, "sweep": its lr and beta are its own (rates), and it
# leaves nothing in the context (only the random stage does)
SPACE = search.Space(axes={"lr": search.LogUniform(*LR), "beta": search.OneMinusLog(*OMB),
                           "hidden_units": search.IntRange(2, 20)},
                     base=lambda settings: {**shared_hparams(settings), "stage": "sweep"}, metric="dev_cost",
                     progress=lambda history, side: side.cost("test"))

EXPERIMENT = Experiment(
    name="hyperparameter_search",
    claim="9 random trials try 9 learning rates where a 3x3 grid tries 3; log-scale draws; coarse to fine zooms in",
    dataset="moons (course_toy_sets.h5), split 70/30",
    variants=variants,
    run=run,
    load=load,
    shares_context=True,   # trial.context carries what later variants read
    space=SPACE,
    claims=(
        Claim("same budget of 9: the grid tries 3 distinct lrs and 3 betas, random search 9 and 9",
              (*STAGES["grid"], *STAGES["random"]),
              lambda m: (_distinct(m, "grid", "lr"), _distinct(m, "grid", "beta")) == (K, K)
              and (_distinct(m, "random", "lr"), _distinct(m, "random", "beta")) == (K * K, K * K)),
        Claim("random lr = 10^U(-4, 0), beta = 1 - 10^U(-3, -1): in range, KS test vs uniform p > 0.01",
              tuple(STAGES["random"]), _log_law),
        Claim("the fine box, 1/4 as wide per axis, holds the coarse stage's best trial",
              (*STAGES["random"], *STAGES["fine"]), _box_holds_best),
        Claim("coarse to fine keeps the coarse best (min over both stages, by construction) and zooming pays: "
              "the fine trials' median dev cost is below the coarse trials' median",
              (*STAGES["random"], *STAGES["fine"]),
              lambda m: min(_values(m, "random", "dev_cost") + _values(m, "fine", "dev_cost"))
              <= min(_values(m, "random", "dev_cost"))
              and np.median(_values(m, "fine", "dev_cost")) < np.median(_values(m, "random", "dev_cost"))),
    ),
)

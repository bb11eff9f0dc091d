"""Optimisers (course 2, week 2): on the same budget Adam trains much further than plain
mini-batch gradient descent and momentum.

The course's optimisation setup (experiments.optimisation): moons, [2, 5, 2, 1], He weights
from seed 3, mini-batches of 64 shuffled as the course does, rate 0.0007. Its two editions
publish: at 10000 epochs, train accuracies gradient descent 79.7 %, momentum (beta 0.9) 79.7 %,
Adam (beta1 0.9, beta2 0.999, eps 1e-8) 94 %; at 5000 epochs (the variants "-5000"), 71.67 %,
71.67 % and 94.33 %, with the mean cost of epochs 0, 1000, ..., 4000. Momentum's v is the course's
v = beta v + (1 - beta) dW, on the torch side SGD(momentum=beta, dampening=beta) with a zero
buffer (reference_torch.optim).

``python -m experiments sweep optimisers`` tunes Adam on the same setup (SPACE): lr = 10^U(-4, -1),
beta1 = 1 - 10^U(-2, -0.5) (0.68 .. 0.99), beta2 = 1 - 10^U(-4, -2) (0.99 .. 0.9999), both betas
on the 1 - beta log scale; 2000 epochs (--quick: 20), minimising the last epoch's mean cost
(final_cost), reported after every epoch.
"""

from experiments import optimisation, search
from experiments.runner import Claim, Experiment, Variant

OPTIMIZERS = {"gd": ({}, "79.7 %"), "momentum": ({"beta": 0.9}, "79.7 %"),
              "adam": ({"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, "94 %")}
# the 5000-epoch edition: the train accuracy and the costs it prints after epochs 0, 1000, ..., 4000
COURSE_5000 = {"gd": ("0.7166666666666667", ("0.702405", "0.668101", "0.635288", "0.600491", "0.573367")),
               "momentum": ("0.7166666666666667", ("0.702413", "0.668167", "0.635388", "0.600591", "0.573444")),
               "adam": ("0.9433333333333334", ("0.702166", "0.167845", "0.141316", "0.138788", "0.136066"))}


def variants(settings):
    base = {"lr": 0.0007, "batch_size": 64}
    tenk = [Variant(name, {"optimizer": name, **base, "epochs": settings.budget(10000, 300), **hp},
                    {"train_accuracy": accuracy})
            for name, (hp, accuracy) in OPTIMIZERS.items()]
    fivek = [Variant(f"{name}-5000", {"optimizer": name, **base, "epochs": settings.budget(5000, 100),
                                      **OPTIMIZERS[name][0]},
                     {"train_accuracy": accuracy, **{f"cost_epoch_{1000 * i}": c for i, c in enumerate(costs)}})
             for name, (accuracy, costs) in COURSE_5000.items()]
    return tenk + fivek


SPACE = search.Space(
    axes={"lr": search.LogUniform(-4.0, -1.0), "beta1": search.OneMinusLog(-2.0, -0.5),
          "beta2": search.OneMinusLog(-4.0, -2.0)},
    base=lambda settings: {"optimizer": "adam", "batch_size": 64, "eps": 1e-8, "epochs": settings.budget(2000, 20)},
    metric="final_cost", progress=lambda history, side: history.epoch_costs[-1])

EXPERIMENT = Experiment(
    name="optimisers",
    claim="on the same budget Adam reaches 94 % where mini-batch GD and momentum reach 79.7 %",
    dataset="moons (course_toy_sets.h5)",
    variants=variants,
    run=optimisation.run,
    load=optimisation.load,
    space=SPACE,
    claims=(
        Claim("Adam's final cost is below gradient descent's and momentum's", tuple(OPTIMIZERS),
              lambda m: m["adam"]["final_cost"] < min(m["gd"]["final_cost"], m["momentum"]["final_cost"])),
        Claim("Adam's train accuracy beats gradient descent's by over 10 points", ("gd", "adam"),
              lambda m: m["adam"]["train_accuracy"] > m["gd"]["train_accuracy"] + 0.1, full_budget=True),
        Claim("at 5000 epochs too, Adam beats gradient descent and momentum by over 20 points",
              ("gd-5000", "momentum-5000", "adam-5000"),
              lambda m: m["adam-5000"]["train_accuracy"]
              > max(m["gd-5000"]["train_accuracy"], m["momentum-5000"]["train_accuracy"]) + 0.2, full_budget=True),
    ),
)

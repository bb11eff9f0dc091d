"""Optimisers (course 2, week 2): on the same budget Adam trains much further than plain
mini-batch gradient descent and momentum.

The course's optimisation setup (experiments.optimisation): moons, [2, 5, 2, 1], He weights
from seed 3, mini-batches of 64 shuffled as the course does, rate 0.0007, 10000 epochs.
Published train accuracies: gradient descent 79.7 %, momentum (beta 0.9) 79.7 %, Adam
(beta1 0.9, beta2 0.999, eps 1e-8) 94 %. Momentum's v is the course's
v = beta v + (1 - beta) dW, on the torch side SGD(momentum=beta, dampening=beta) with a zero
buffer (reference_torch.optim).
"""

from experiments import optimisation
from experiments.runner import Claim, Experiment, Variant

OPTIMIZERS = {"gd": ({}, 0.797), "momentum": ({"beta": 0.9}, 0.797),
              "adam": ({"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, 0.94)}


def variants(settings):
    base = {"lr": 0.0007, "batch_size": 64, "epochs": settings.budget(10000, 300)}
    return [Variant(name, {"optimizer": name, **base, **hp}, {"train_accuracy": accuracy})
            for name, (hp, accuracy) in OPTIMIZERS.items()]


EXPERIMENT = Experiment(
    name="optimisers",
    claim="on the same budget Adam reaches 94 % where mini-batch GD and momentum reach 79.7 %",
    dataset="moons (course_toy_sets.h5)",
    variants=variants,
    run=optimisation.run,
    load=optimisation.load,
    sweep=True,
    claims=(
        Claim("Adam's final cost is below gradient descent's and momentum's", tuple(OPTIMIZERS),
              lambda m: m["adam"]["final_cost"] < min(m["gd"]["final_cost"], m["momentum"]["final_cost"])),
        Claim("Adam's train accuracy beats gradient descent's by over 10 points", ("gd", "adam"),
              lambda m: m["adam"]["train_accuracy"] > m["gd"]["train_accuracy"] + 0.1, full_budget=True),
    ),
)

"""Learning-rate decay (course 2, week 2): decaying every epoch shrinks the rate too fast and the
run stalls; the course's fix decays on a fixed interval (staircase).

The course's optimisation setup (experiments.optimisation) with mini-batch gradient descent
from alpha0 = 0.1: a constant rate; alpha0 / (1 + epoch) and 0.95^epoch alpha0 applied every
epoch; the staircase alpha0 / (1 + floor(epoch / interval)) with interval = epochs / 5 (the
course: 1000 of 5000 epochs); and alpha0 / sqrt(epoch + 1). Counting as LambdaLR does (epoch 0
trains at alpha0; scratch_numpy.schedules); TensorBoard's learning_rate shows each schedule.
"""

from experiments import optimisation
from experiments.runner import Claim, Experiment, Variant

SCHEDULES = {"constant": {}, "inverse_time": {"decay_rate": 1.0}, "exponential": {"base": 0.95},
             "staircase": {"decay_rate": 1.0}, "inverse_sqrt_epoch": {"k": 1.0}}


def variants(settings):
    epochs = settings.budget(1000, 200)
    interval = {"time_interval": epochs // 5}
    return [Variant(name, {"optimizer": "gd", "lr": 0.1, "batch_size": 64, "epochs": epochs, "schedule": name,
                           **hp, **(interval if name == "staircase" else {})})
            for name, hp in SCHEDULES.items()]


EXPERIMENT = Experiment(
    name="lr_decay",
    claim="decaying the rate every epoch stalls the run; a staircase every epochs/5 keeps training",
    dataset="moons (course_toy_sets.h5)",
    variants=variants,
    run=optimisation.run,
    load=optimisation.load,
    sweep=True,
    claims=(
        Claim("1/(1 + epoch) and 0.95^epoch end with a higher cost than the staircase",
              ("inverse_time", "exponential", "staircase"),
              lambda m: min(m["inverse_time"]["final_cost"], m["exponential"]["final_cost"])
              > m["staircase"]["final_cost"] + 0.1),
        Claim("the staircase ends within 0.05 of the constant rate's cost", ("constant", "staircase"),
              lambda m: m["staircase"]["final_cost"] < m["constant"]["final_cost"] + 0.05),
    ),
)

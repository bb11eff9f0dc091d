"""Learning-rate decay (course 2, week 2): decaying every epoch shrinks the rate too fast and the
run stalls; the course's fix decays on a fixed interval (staircase).

The course's optimisation setup (experiments.optimisation) with mini-batch gradient descent
from alpha0 = 0.1: a constant rate; alpha0 / (1 + epoch) and 0.95^epoch alpha0 applied every
epoch; the staircase alpha0 / (1 + floor(epoch / interval)) with interval = epochs / 5 (the
course: 1000 of 5000 epochs); and alpha0 / sqrt(epoch + 1). Counting as LambdaLR does (epoch 0
trains at alpha0; scratch_numpy.schedules); TensorBoard's learning_rate shows each schedule.

The course's own decay section (variants "course-..."), 5000 epochs, its loop setting the rate
after each epoch (schedules with delay 1): update_lr (1 / (1 + epoch)) with gradient descent from
0.1, which stalls (published: 65.33 %, and the costs of epochs 0, 1000, ..., 4000); then
schedule_lr_decay (decay_rate 1, time_interval 1000) with gradient descent and momentum from 0.1
and Adam from 0.01 (published: > 94.6 %, > 95.6 % and 94 %, and each run's epoch-0 cost):
with the staircase, plain gradient descent and momentum do as well as Adam.

Two figures of the course's summary table are DISPUTED: its "> 94.6 %" and "> 95.6 %" for
gradient descent and momentum with the staircase are one example (of 300) above what its own
model() gives here, 94.33 % and 95.33 % on both sides, while the same loop reproduces every cost
and the accuracy the notebook prints for its update_lr run (above) and the epoch-0 cost of each
staircase run.
"""

from experiments import optimisation
from experiments.runner import Claim, Experiment, Variant

SCHEDULES = {"constant": {}, "inverse_time": {"decay_rate": 1.0}, "exponential": {"base": 0.95},
             "staircase": {"decay_rate": 1.0}, "inverse_sqrt_epoch": {"k": 1.0}}


# the course's decay section: optimiser, its hyperparameters, alpha0, schedule and what it publishes
COURSE = {
    "course-gd-update_lr": ("gd", {}, 0.1, {"schedule": "inverse_time", "decay_rate": 1.0},
                            {"train_accuracy": "0.6533333333333333", "cost_epoch_0": "0.701091",
                             "cost_epoch_1000": "0.661884", "cost_epoch_2000": "0.658620",
                             "cost_epoch_3000": "0.656765", "cost_epoch_4000": "0.655486"}),
    "course-gd-staircase": ("gd", {}, 0.1, {"schedule": "staircase", "decay_rate": 1.0, "time_interval": 1000},
                            {"train_accuracy": ">94.6 %", "cost_epoch_0": "0.701091"}),
    "course-momentum-staircase": ("momentum", {"beta": 0.9}, 0.1,
                                  {"schedule": "staircase", "decay_rate": 1.0, "time_interval": 1000},
                                  {"train_accuracy": ">95.6 %", "cost_epoch_0": "0.702226"}),
    "course-adam-staircase": ("adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, 0.01,
                              {"schedule": "staircase", "decay_rate": 1.0, "time_interval": 1000},
                              {"train_accuracy": "94 %", "cost_epoch_0": "0.699346"}),
}


DISPUTED = ("the course's summary table; its model() with its schedule_lr_decay gives one example of 300 "
            "fewer here, on both sides, while the same loop reproduces every figure the notebook prints "
            "for its update_lr run")
# what our runs give for the disputed figures (measured, both sides): a disputed figure is still judged
OURS = {"course-gd-staircase": "94.33 %", "course-momentum-staircase": "95.33 %"}


def variants(settings):
    epochs = settings.budget(1000, 200)
    interval = {"time_interval": epochs // 5}
    ours = [Variant(name, {"optimizer": "gd", "lr": 0.1, "batch_size": 64, "epochs": epochs, "schedule": name,
                           **hp, **(interval if name == "staircase" else {})})
            for name, hp in SCHEDULES.items()]
    course = [Variant(name, {"optimizer": optimizer, **hp, "lr": lr, "batch_size": 64,
                             "epochs": settings.budget(5000, 100), **schedule, "delay": 1}, figures,
                      disputed={"train_accuracy": (OURS[name], DISPUTED)} if name in OURS else {})
              for name, (optimizer, hp, lr, schedule, figures) in COURSE.items()]
    return ours + course


EXPERIMENT = Experiment(
    name="lr_decay",
    claim="decaying the rate every epoch stalls the run; a staircase every epochs/5 keeps training",
    dataset="moons (course_toy_sets.h5)",
    variants=variants,
    run=optimisation.run,
    load=optimisation.load,
    claims=(
        Claim("1/(1 + epoch) and 0.95^epoch end with a higher cost than the staircase",
              ("inverse_time", "exponential", "staircase"),
              lambda m: min(m["inverse_time"]["final_cost"], m["exponential"]["final_cost"])
              > m["staircase"]["final_cost"] + 0.1),
        Claim("the staircase ends within 0.05 of the constant rate's cost", ("constant", "staircase"),
              lambda m: m["staircase"]["final_cost"] < m["constant"]["final_cost"] + 0.05),
        Claim("the course's update_lr stalls: over 25 points below its staircase", ("course-gd-update_lr",
              "course-gd-staircase"), lambda m: m["course-gd-staircase"]["train_accuracy"]
              > m["course-gd-update_lr"]["train_accuracy"] + 0.25, full_budget=True),
        Claim("with the course's staircase, gradient descent and momentum come within a point of Adam",
              tuple(name for name in COURSE if name.endswith("staircase")),
              lambda m: min(m["course-gd-staircase"]["train_accuracy"], m["course-momentum-staircase"]["train_accuracy"])
              > m["course-adam-staircase"]["train_accuracy"] - 0.01, full_budget=True),
    ),
)

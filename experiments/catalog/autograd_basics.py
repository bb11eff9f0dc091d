"""Autograd basics (course 2, week 3): gradient descent on J(w) = w^2 - 10 w + 25 finds its
minimum w = 5, whether the derivative is written by hand (NumPy: dJ/dw = 2 w - 10) or taken by
autograd (torch: J.backward()).

Two forms of the same cost: ``plain`` writes it out; ``coefficients`` feeds the coefficients
c = (1, -10, 25) as data, J = c0 w^2 + c1 w + c2 (the course's placeholder example). From
w = 0 at rate alpha, w_k = 5 - 5 (1 - 2 alpha)^k exactly (the error from the closed form is
rounding: ``closed_form_error_eps`` measures it in units of 5 eps of the dtype); 1000 steps at
alpha = 0.01 leave 5 * 0.98^1000 = 8.4e-9 to go in float64. In float32 the descent stalls near
|w - 5| = 1.2e-5, where the step alpha |2w - 10| falls below half a unit in the last place of 5. The NumPy update is
scratch_numpy.optim.GradientDescent, the torch one torch.optim.SGD.
"""

import numpy as np
import torch

from experiments.runner import Claim, Experiment, Outcome, Variant
from experiments.tblog import SCALAR_POINTS, Cadence
from reference_torch import bridge
from scratch_numpy.optim import GradientDescent

COEFFICIENTS = (1.0, -10.0, 25.0)
LR, STEPS = 0.01, 1000


def variants(settings):
    return [Variant(form, {"form": form, "lr": LR, "steps": STEPS}) for form in ("plain", "coefficients")]


def numpy_descent(form: str, dtype: str):
    """[(w, J)] before each step, by hand: dJ/dw = 2 c0 w + c1."""
    c = np.array(COEFFICIENTS, dtype=dtype)
    params = {"w": np.zeros((1, 1), dtype=dtype)}
    optimizer, path = GradientDescent(params, LR), []
    for _ in range(STEPS):
        w = params["w"]
        J = w ** 2 - 10 * w + 25 if form == "plain" else c[0] * w ** 2 + c[1] * w + c[2]
        dw = 2 * w - 10 if form == "plain" else 2 * c[0] * w + c[1]
        path.append((float(w[0, 0]), float(J[0, 0])))
        optimizer.step(params, {"dw": dw})
    return path, float(params["w"][0, 0])


def torch_descent(form: str, dtype: str, device):
    """[(w, J)] before each step, with J.backward() and torch.optim.SGD."""
    dtype = bridge.resolve_dtype(dtype)
    c = torch.tensor(COEFFICIENTS, dtype=dtype, device=device)
    w = torch.zeros((), dtype=dtype, device=device, requires_grad=True)
    optimizer, path = torch.optim.SGD([w], lr=LR), []
    for _ in range(STEPS):
        optimizer.zero_grad()
        J = w ** 2 - 10 * w + 25 if form == "plain" else c[0] * w ** 2 + c[1] * w + c[2]
        J.backward()
        path.append((float(w.detach()), float(J.detach())))
        optimizer.step()
    return path, float(w.detach())


def run(trial):
    form = trial.hp["form"]
    if trial.impl == "numpy":
        path, w = numpy_descent(form, trial.settings.dtype)
    else:
        path, w = torch_descent(form, trial.settings.dtype, trial.device)
    cadence = Cadence(STEPS, SCALAR_POINTS)
    trial.logger.scalars("w", [p[0] for p in path], 0, cadence, "iteration")
    trial.logger.scalars("cost", [p[1] for p in path], 0, cadence, "iteration")
    closed_form = 5 - 5 * (1 - 2 * LR) ** STEPS
    metrics = {"w": w, "final_cost": path[-1][1],
               "closed_form_error_eps": abs(w - closed_form) / (5 * np.finfo(trial.settings.dtype).eps)}
    return Outcome(metrics, costs=[p[1] for p in path], params={"w": np.array([[w]])})


EXPERIMENT = Experiment(
    name="autograd_basics",
    claim="gradient descent on w^2 - 10w + 25 reaches w = 5 by hand (NumPy) and by autograd (torch)",
    dataset="none (a scalar cost)",
    variants=variants,
    run=run,
    claims=(
        Claim("both forms end within 1e-4 of w = 5, within 100 eps of the closed form 5 - 5 (1 - 2 alpha)^k",
              ("plain", "coefficients"),
              lambda m: all(abs(m[f]["w"] - 5) < 1e-4 and m[f]["closed_form_error_eps"] < 100
                            for f in ("plain", "coefficients"))),
    ),
)

"""Update rules as a course student writes them, for ``check_optimizer`` (parity_tests/checker/optimizer.py).

Each is ``update(params, grads, state, lr, ...) -> state``: params {W1, b1, W2, b2} updated in place,
grads {dW1, db1, ...}, state None at the first call and then whatever the rule returned, here in the
course's names {"t": t, "v": {"dW1": ...}, "s": {...}}. The checker passes the hyperparameters each
signature names (lr, beta, ...). First one correct rule per project optimiser (plus Adam as a class with
``step``), then each classic convention slip, each named after the hint that should recognise it:

    python -m parity_tests.checker.optimizer_cli examples/optimizers.py:adam_eps_inside_sqrt --rule adam --lr 0.01

The scheduled ones are checked with a learning-rate schedule: they name ``epoch`` (0 in the first epoch,
the epochs already completed) and the schedule's hyperparameters and decay ``lr`` themselves, or name
``current_lr``, the rate the check's schedule gives the step:

    python -m parity_tests.checker.optimizer_cli examples/optimizers.py:adam_update_lr_late --rule adam \
        --lr 0.01 --schedule inverse_time --decay-rate 0.5

``RULES`` lists every example: (function, the project's rule it implements, the hint its slip should
fire or None, the extra keyword arguments of check_optimizer to check it with: hyperparameters, schedule).
"""

import numpy as np


def _zeros(params):
    return {"d" + key: np.zeros_like(W) for key, W in params.items()}


def _with_l2(params, grads, l2_lambda, m):
    """dW + (lambda / m) W for the weights; the biases are not regularised."""
    if not l2_lambda:
        return grads
    return {"d" + key: grads["d" + key] + (l2_lambda / m) * W if key.startswith("W") else grads["d" + key]
            for key, W in params.items()}


# ------------------------------------------------------------------ correct rules

def gd_update(params, grads, state, lr, l2_lambda=0.0, m=None):
    grads = _with_l2(params, grads, l2_lambda, m)
    for key in params:
        params[key] -= lr * grads["d" + key]
    return state


def momentum_update(params, grads, state, lr, beta=0.9, l2_lambda=0.0, m=None):
    state = state or {"v": _zeros(params)}
    grads = _with_l2(params, grads, l2_lambda, m)
    for key in params:
        v = state["v"]["d" + key] = beta * state["v"]["d" + key] + (1 - beta) * grads["d" + key]
        params[key] -= lr * v
    return state


def cs231n_momentum_update(params, grads, state, lr, mu=0.9, nesterov=False, l2_lambda=0.0, m=None):
    state = state or {"v": _zeros(params)}
    grads = _with_l2(params, grads, l2_lambda, m)
    for key in params:
        v_prev = state["v"]["d" + key]
        v = state["v"]["d" + key] = mu * v_prev - lr * grads["d" + key]
        params[key] += -mu * v_prev + (1 + mu) * v if nesterov else v
    return state


def rmsprop_update(params, grads, state, lr, beta=0.99, eps=1e-8, l2_lambda=0.0, m=None):
    state = state or {"s": _zeros(params)}
    grads = _with_l2(params, grads, l2_lambda, m)
    for key in params:
        g = grads["d" + key]
        s = state["s"]["d" + key] = beta * state["s"]["d" + key] + (1 - beta) * g ** 2
        params[key] -= lr * g / (np.sqrt(s) + eps)
    return state


def adam_update(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8, l2_lambda=0.0, m=None):
    state = state or {"t": 0, "v": _zeros(params), "s": _zeros(params)}
    state["t"] += 1
    t = state["t"]
    grads = _with_l2(params, grads, l2_lambda, m)
    for key in params:
        g = grads["d" + key]
        v = state["v"]["d" + key] = beta1 * state["v"]["d" + key] + (1 - beta1) * g
        s = state["s"]["d" + key] = beta2 * state["s"]["d" + key] + (1 - beta2) * g ** 2
        v_hat, s_hat = v / (1 - beta1 ** t), s / (1 - beta2 ** t)
        params[key] -= lr * v_hat / (np.sqrt(s_hat) + eps)
    return state


class Adam:
    """The same rule as an object: ``step(params, grads)`` and ``state``, in the style of torch.optim."""

    def __init__(self, params, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.state = {"t": 0, "v": _zeros(params), "s": _zeros(params)}

    def step(self, params, grads):
        self.state["t"] += 1
        t, v, s = self.state["t"], self.state["v"], self.state["s"]
        for key in params:
            g = grads["d" + key]
            v["d" + key] = self.beta1 * v["d" + key] + (1 - self.beta1) * g
            s["d" + key] = self.beta2 * s["d" + key] + (1 - self.beta2) * g * g
            v_hat = v["d" + key] / (1 - self.beta1 ** t)
            s_hat = s["d" + key] / (1 - self.beta2 ** t)
            params[key] -= self.lr * v_hat / (np.sqrt(s_hat) + self.eps)


def adam_update_lr(params, grads, state, lr, epoch, decay_rate, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam with the course's update_lr decay: epoch 0 trains at lr."""
    return adam_update(params, grads, state, lr / (1 + decay_rate * epoch), beta1, beta2, eps)


def momentum_update_scheduled(params, grads, state, current_lr, beta=0.9):
    """The rate comes from the training loop's schedule, as optimizer.lr does in scratch_numpy.training."""
    return momentum_update(params, grads, state, current_lr, beta)


# ------------------------------------------------------------------ classic slips

def rmsprop_eps_inside_sqrt(params, grads, state, lr, beta=0.99, eps=1e-8):
    state = state or {"s": _zeros(params)}
    for key in params:
        g = grads["d" + key]
        s = state["s"]["d" + key] = beta * state["s"]["d" + key] + (1 - beta) * g ** 2
        params[key] -= lr * g / np.sqrt(s + eps)                    # slip: eps under the root
    return state


def adam_eps_inside_sqrt(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    state = state or {"t": 0, "v": _zeros(params), "s": _zeros(params)}
    state["t"] += 1
    t = state["t"]
    for key in params:
        g = grads["d" + key]
        v = state["v"]["d" + key] = beta1 * state["v"]["d" + key] + (1 - beta1) * g
        s = state["s"]["d" + key] = beta2 * state["s"]["d" + key] + (1 - beta2) * g ** 2
        params[key] -= lr * (v / (1 - beta1 ** t)) / np.sqrt(s / (1 - beta2 ** t) + eps)   # slip
    return state


def adam_eps_before_correction(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Keras's and ONNX's form: the corrections folded into the rate, eps added to the uncorrected sqrt(s)."""
    state = state or {"t": 0, "v": _zeros(params), "s": _zeros(params)}
    state["t"] += 1
    t = state["t"]
    lr_t = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    for key in params:
        g = grads["d" + key]
        v = state["v"]["d" + key] = beta1 * state["v"]["d" + key] + (1 - beta1) * g
        s = state["s"]["d" + key] = beta2 * state["s"]["d" + key] + (1 - beta2) * g ** 2
        params[key] -= lr_t * v / (np.sqrt(s) + eps)                 # slip: eps before the correction
    return state


def adam_no_bias_correction(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    state = state or {"t": 0, "v": _zeros(params), "s": _zeros(params)}
    state["t"] += 1
    for key in params:
        g = grads["d" + key]
        v = state["v"]["d" + key] = beta1 * state["v"]["d" + key] + (1 - beta1) * g
        s = state["s"]["d" + key] = beta2 * state["s"]["d" + key] + (1 - beta2) * g ** 2
        params[key] -= lr * v / (np.sqrt(s) + eps)                   # slip: v and s uncorrected
    return state


def adam_t_incremented_after(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    state = state or {"t": 0, "v": _zeros(params), "s": _zeros(params)}
    t = state["t"]                                                   # slip: 0 in the first step
    for key in params:
        g = grads["d" + key]
        v = state["v"]["d" + key] = beta1 * state["v"]["d" + key] + (1 - beta1) * g
        s = state["s"]["d" + key] = beta2 * state["s"]["d" + key] + (1 - beta2) * g ** 2
        params[key] -= lr * (v / (1 - beta1 ** t)) / (np.sqrt(s / (1 - beta2 ** t)) + eps)
    state["t"] += 1
    return state


def adam_t_starts_at_one(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    state = state or {"t": 1, "v": _zeros(params), "s": _zeros(params)}   # slip: then 2 in the first step
    state["t"] += 1
    t = state["t"]
    for key in params:
        g = grads["d" + key]
        v = state["v"]["d" + key] = beta1 * state["v"]["d" + key] + (1 - beta1) * g
        s = state["s"]["d" + key] = beta2 * state["s"]["d" + key] + (1 - beta2) * g ** 2
        params[key] -= lr * (v / (1 - beta1 ** t)) / (np.sqrt(s / (1 - beta2 ** t)) + eps)
    return state


def momentum_torch_first_step(params, grads, state, lr, beta=0.9):
    """torch's SGD(momentum=beta, dampening=beta) without a preset buffer: buf_1 = g_1."""
    if state is None:                                                # slip: v_1 = dW_1
        state = {"v": {"d" + key: grads["d" + key].copy() for key in params}}
    else:
        for key in params:
            state["v"]["d" + key] = beta * state["v"]["d" + key] + (1 - beta) * grads["d" + key]
    for key in params:
        params[key] -= lr * state["v"]["d" + key]
    return state


def momentum_no_dampening(params, grads, state, lr, beta=0.9):
    state = state or {"v": _zeros(params)}
    for key in params:
        v = state["v"]["d" + key] = beta * state["v"]["d" + key] + grads["d" + key]   # slip: no (1 - beta)
        params[key] -= lr * v
    return state


def cs231n_velocity_sign(params, grads, state, lr, mu=0.9, nesterov=False):
    state = state or {"v": _zeros(params)}
    for key in params:
        v_prev = state["v"]["d" + key]
        v = state["v"]["d" + key] = mu * v_prev + lr * grads["d" + key]   # slip: + lr dW, then W -= v
        params[key] -= -mu * v_prev + (1 + mu) * v if nesterov else v
    return state


def adam_decay_on_biases(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8, l2_lambda=0.0, m=None):
    if l2_lambda:                           # without L2 (m None) it is plain Adam
        grads = {"d" + key: grads["d" + key] + (l2_lambda / m) * W for key, W in params.items()}   # slip: b too
    return adam_update(params, grads, state, lr, beta1, beta2, eps)


def gd_decay_without_m(params, grads, state, lr, l2_lambda=0.0, m=None):
    for key in params:
        decay = l2_lambda * params[key] if key.startswith("W") else 0.0   # slip: lambda, not lambda / m
        params[key] -= lr * (grads["d" + key] + decay)
    return state


def adam_update_lr_late(params, grads, state, lr, epoch, decay_rate, beta1=0.9, beta2=0.999, eps=1e-8):
    """The course notebook's model() loop folded into the rule: the rate is decayed when an epoch ends."""
    state = state or {"t": 0, "v": _zeros(params), "s": _zeros(params), "epoch": 0, "lr_now": lr}
    if epoch > state["epoch"]:               # slip: decayed with the epoch just finished, so epoch e gets f(e - 1)
        state["lr_now"] = lr / (1 + decay_rate * state["epoch"])
        state["epoch"] = epoch
    return adam_update(params, grads, state, state["lr_now"], beta1, beta2, eps)


def momentum_exponential_early(params, grads, state, lr, epoch, base, beta=0.9):
    epoch_num = epoch + 1                    # slip: the lecture's epoch_num, from 1, in a formula counting from 0
    return momentum_update(params, grads, state, base ** epoch_num * lr, beta)


L2 = {"l2_lambda": 0.7, "m": 10}
INVERSE_TIME = {"schedule": "inverse_time", "decay_rate": 0.5}
EXPONENTIAL = {"schedule": "exponential", "base": 0.95}
RULES = {
    "gd_update": (gd_update, "gd", None, {}),
    "gd_update + L2": (gd_update, "gd", None, L2),
    "momentum_update": (momentum_update, "momentum", None, {}),
    "momentum_update + L2": (momentum_update, "momentum", None, L2),
    "cs231n_momentum_update": (cs231n_momentum_update, "cs231n_momentum", None, {}),
    "cs231n_momentum_update nesterov": (cs231n_momentum_update, "cs231n_momentum", None, {"nesterov": True}),
    "rmsprop_update": (rmsprop_update, "rmsprop", None, {}),
    "adam_update": (adam_update, "adam", None, {}),
    "adam_update + L2": (adam_update, "adam", None, L2),
    "Adam (class)": (Adam, "adam", None, {}),
    "adam_update_lr inverse_time": (adam_update_lr, "adam", None, INVERSE_TIME),
    "momentum_update_scheduled exponential": (momentum_update_scheduled, "momentum", None, EXPONENTIAL),
    "momentum_update_scheduled staircase": (momentum_update_scheduled, "momentum", None,
                                            {"schedule": "staircase", "decay_rate": 1.0, "time_interval": 5}),
    "rmsprop_eps_inside_sqrt": (rmsprop_eps_inside_sqrt, "rmsprop", "eps_inside_sqrt", {}),
    "adam_eps_inside_sqrt": (adam_eps_inside_sqrt, "adam", "eps_inside_sqrt", {}),
    "adam_eps_before_correction": (adam_eps_before_correction, "adam", "eps_before_correction", {}),
    "adam_no_bias_correction": (adam_no_bias_correction, "adam", "bias_correction_missing", {}),
    "adam_t_incremented_after": (adam_t_incremented_after, "adam", "t_off_by_one", {}),
    "adam_t_starts_at_one": (adam_t_starts_at_one, "adam", "t_off_by_one", {}),
    "momentum_torch_first_step": (momentum_torch_first_step, "momentum", "momentum_first_step", {}),
    "momentum_no_dampening": (momentum_no_dampening, "momentum", "momentum_no_dampening", {}),
    "cs231n_velocity_sign": (cs231n_velocity_sign, "cs231n_momentum", "velocity_sign", {}),
    "cs231n_velocity_sign nesterov": (cs231n_velocity_sign, "cs231n_momentum", "velocity_sign", {"nesterov": True}),
    "adam_decay_on_biases": (adam_decay_on_biases, "adam", "decay_on_biases", L2),
    "gd_decay_without_m": (gd_decay_without_m, "gd", "decay_without_m", L2),
    "adam_update_lr_late inverse_time": (adam_update_lr_late, "adam", "schedule_late", INVERSE_TIME),
    "momentum_exponential_early": (momentum_exponential_early, "momentum", "schedule_early", EXPONENTIAL),
}

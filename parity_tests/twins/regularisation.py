"""L2 and L1 regularisation of a whole network: the penalty in the cost and the gradients, one
step and 50 full-batch steps (the penalty and layer twins are in losses)."""

from __future__ import annotations

from .common import case
from .losses import MUTANTS as LOSS_MUTANTS
from .models import DECAY_NOT_PER_EXAMPLE, network_step, options_trajectory

CASES = [
    ("L2 net [5,6,4,1]: cost + lambda/(2m)||W||^2, grads, 1 step", case(network_step, l2_lambda=0.7)),
    ("L1 net [5,6,4,1]: cost + lambda/(2m)|W|, grads, 1 step", case(network_step, l1_lambda=0.7)),
    ("L2 net, 50 GD steps (explicit penalty)", case(options_trajectory, l2_lambda=0.7)),
    ("L2 net, 50 GD steps (weight_decay = lambda/m on W)", case(options_trajectory, l2_lambda=0.7,
                                                                  l2_route="weight_decay")),
    ("L1 net, 50 GD steps", case(options_trajectory, l1_lambda=0.7)),
]

L2_HALF_DROPPED, L2_NOT_SQUARED = LOSS_MUTANTS["l2 penalty"]
L1_GRADIENT_DOUBLED, L1_ABS_DROPPED = LOSS_MUTANTS["l1 penalty"]

MUTANTS = {
    "L2 net [5,6,4,1]*": [L2_HALF_DROPPED, L2_NOT_SQUARED],
    "L1 net*": [L1_GRADIENT_DOUBLED, L1_ABS_DROPPED],
    "L2 net, 50 GD steps (explicit penalty)": [L2_HALF_DROPPED, L2_NOT_SQUARED],
    "L2 net, 50 GD steps (weight_decay = lambda/m on W)": [L2_HALF_DROPPED, DECAY_NOT_PER_EXAMPLE],
}

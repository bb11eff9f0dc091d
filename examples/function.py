"""Custom torch.autograd.Functions checked with check_function: softplus, y = log(1 + e^x), dy/dx = sigmoid(x).

``Softplus`` is written in the style torch.func needs (forward without ctx, ``setup_context``,
``generate_vmap_rule``) and saves only its input; three variants each break one check:

    Softplus                  correct: every row passes
    SoftplusWrongBackward     backward uses sigmoid(-x), the exponent's sign slipped: every gradient row
    SoftplusSavedIntermediate saves sigmoid(x), computed in setup_context (no autograd there), on ctx:
                              first derivatives right, second derivatives silently zero
    SoftplusOldStyle          forward(ctx, x): fine for autograd, refused by torch.func.vmap
"""

import torch
import torch.nn.functional as F

from examples.cases import Case
from parity_tests.checker.function import check_function


class Softplus(torch.autograd.Function):
    """y = log(1 + e^x); backward: dx = dy * sigmoid(x)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return torch.log1p(torch.exp(x))

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return dy * torch.sigmoid(x)


class SoftplusWrongBackward(Softplus):
    @staticmethod
    def backward(ctx, dy):
        """Bug: sigmoid(-x) = 1 - sigmoid(x)."""
        (x,) = ctx.saved_tensors
        return dy * torch.sigmoid(-x)


class SoftplusSavedIntermediate(Softplus):
    @staticmethod
    def setup_context(ctx, inputs, output):
        """Bug for double backward: sigmoid(x) is computed without autograd and kept on ctx, so the
        second derivative through it is lost."""
        ctx.s = torch.sigmoid(inputs[0])

    @staticmethod
    def backward(ctx, dy):
        return dy * ctx.s


class SoftplusOldStyle(torch.autograd.Function):
    """Correct, but forward takes ctx: torch.func (vmap, grad, jacrev) refuses it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.log1p(torch.exp(x))

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return dy * torch.sigmoid(x)


CHECK = dict(inputs={"x": (3, 4)})

CASES = [
    Case("Function softplus", Softplus, F.softplus, CHECK, checker=check_function),
    Case("Function softplus: wrong backward", SoftplusWrongBackward, F.softplus, CHECK,
         ("dx", "dx (finite differences)", "dx (double backward)", "dout (double backward)", "dx (vmap)"),
         checker=check_function),
    Case("Function softplus: intermediate saved on ctx", SoftplusSavedIntermediate, F.softplus, CHECK,
         ("dx (double backward)",), "saved on ctx", checker=check_function),
    Case("Function softplus: old style, no vmap", SoftplusOldStyle, F.softplus, CHECK, ("out (vmap)", "dx (vmap)"),
         "setup_context", checker=check_function),
]

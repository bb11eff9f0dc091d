"""Library measurements on a side (experiments.sides NumpyNet / TorchNet), written once for both.

    live(side)                       what the training loop updates in place: the NumPy parameter
                                     dict, or the torch module (what an early-stopping snapshot copies)
    signal_norms(side)               per-layer ||A_{l-1}||, ||dA_{l-1}||, ||dW_l|| on the training set
                                     (scratch_numpy.signals / reference_torch.signals)
    cost(side, split)                the data cost J on a split of the side ("train", "test") or on
                                     any datasets.Split (no L2 term; test-time pass)
    early_stopping(side, patience)   the library's EarlyStopping on the dev cost (the side's "test"
                                     split) for that side, wrapped as the loop's ``early_stopping=``
                                     hook (LoopStopper)

Why LoopStopper: the library's policy needs its ``callback(epoch, history, live)`` after every
epoch, but side.fit already uses the loop's callback for logging and drops its third argument.
The loop calls ``early_stopping(history)`` right after the callback, so the wrapper records the
epoch there (with the live parameters it was given) and then asks the policy; ``finish()`` is
passed through, so the best epoch's parameters are restored when train returns.
"""

from __future__ import annotations

from reference_torch import bridge
from reference_torch import early_stopping as t_early_stopping
from reference_torch import signals as t_signals
from scratch_numpy import early_stopping as n_early_stopping
from scratch_numpy import signals as n_signals


def is_numpy(side) -> bool:
    return hasattr(side, "params_")


def live(side):
    return side.params_ if is_numpy(side) else side.model


def signal_norms(side) -> n_signals.Signals:
    """Signals (each (L,), index l - 1 for layer l) of the side's network at its current parameters."""
    if is_numpy(side):
        return n_signals.signal_norms(side.net, side.params_, side.train.X, side.train.Y)
    return t_signals.signal_norms(side.model, *side.tensors["train"])


def cost_function(side, split="test"):
    """The library's dev-cost function of the live state (params dict or module) on ``split``:
    J = -(1/m) sum [y log a + (1 - y) log(1 - a)] (the output's loss, no L2 term)."""
    data = side.splits[split] if isinstance(split, str) else split.astype(side.dtype)
    if is_numpy(side):
        return n_early_stopping.dev_cost(side.net, data.X, data.Y)
    tensors = side.tensors[split] if isinstance(split, str) else bridge.data_to_torch(data.X, data.Y, side.device)
    return t_early_stopping.dev_cost(*tensors)


def cost(side, split="test") -> float:
    """J of the side's network at its current parameters on ``split`` (a name or a datasets.Split)."""
    return float(cost_function(side, split)(live(side)))


class LoopStopper:
    """The loop's early_stopping hook around a library EarlyStopping (module docstring)."""

    def __init__(self, policy, live_state):
        self.policy, self.live = policy, live_state

    def __call__(self, history) -> bool:
        self.policy.callback(history.epochs_run - 1, history, self.live)
        return self.policy(history)

    def finish(self) -> None:
        self.policy.finish()


def early_stopping(side, patience: int, *, restore_best: bool = True) -> LoopStopper:
    """The side's EarlyStopping monitoring the dev cost (J on the side's "test" split)."""
    cls = n_early_stopping.EarlyStopping if is_numpy(side) else t_early_stopping.EarlyStopping
    policy = cls(patience, monitor="dev_cost", dev_cost=cost_function(side, "test"), restore_best=restore_best)
    return LoopStopper(policy, live(side))

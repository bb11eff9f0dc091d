"""The library's early stopping and dev cost on a side (experiments.sides NumpyNet / TorchNet),
written once for both through the side's ``EarlyStopping``, ``cost_function`` and ``live``.

    cost(side, split)                the data cost J on a split of the side ("train", "test") or on
                                     any datasets.Split (no L2 term; test-time pass)
    early_stopping(side, patience)   the side's EarlyStopping on the dev cost (the side's "test"
                                     split), wrapped as the loop's ``early_stopping=`` hook (LoopStopper)

Why LoopStopper: the library's policy needs its ``callback(epoch, history, live)`` after every
epoch, but side.fit already uses the loop's callback for logging and drops its third argument.
The loop calls ``early_stopping(history)`` right after the callback, so the wrapper records the
epoch there (with the live parameters it was given) and then asks the policy; ``finish()`` is
passed through, so the best epoch's parameters are restored when train returns.
"""

from __future__ import annotations


def cost(side, split="test") -> float:
    """J of the side's network at its current parameters on ``split`` (a name or a datasets.Split)."""
    return float(side.cost_function(split)(side.live))


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
    policy = side.EarlyStopping(patience, monitor="dev_cost", dev_cost=side.cost_function("test"),
                                restore_best=restore_best)
    return LoopStopper(policy, side.live)

"""Check a NumPy update rule from the command line.

    python -m parity_tests.checker.optimizer_cli FILE.py:NAME --rule adam --lr 0.01 [--beta1 B1] [--beta2 B2]
        [--eps EPS] [--beta B] [--mu MU] [--nesterov] [--l2-lambda L --m M] [--steps 1,3,200]
        [--dtype float64|float32] [--seed N] [--against numpy|torch|both]
        [--schedule NAME [--decay-rate D] [--base B] [--k K] [--time-interval T] [--steps-per-epoch N]]

NAME is ``update(params, grads, state) -> state``, an object with ``step(params, grads)`` or a class built as
``cls(params, **hyperparameters)`` (see parity_tests/checker/optimizer.py); FILE.py may also be a dotted
module. Example (eps under the square root, recognised by its hint):

    python -m parity_tests.checker.optimizer_cli examples/optimizers.py:rmsprop_eps_inside_sqrt --rule rmsprop --lr 0.01

With ``--schedule`` the rate follows one of the project's schedules, with the hyperparameters it takes
(inverse_time and staircase: --decay-rate; staircase: --time-interval; exponential: --base; the square-root
ones: --k), over epochs of --steps-per-epoch steps (default 2); the rule names ``epoch`` (from 0),
``iteration`` or ``current_lr`` to follow it (parity_tests/checker/optimizer.py).

Prints the report of ``check_optimizer``. Exit status: 0 when the rule agrees with the reference, 1 on a
mismatch, 2 when the check cannot run (bad arguments, a file or name that does not load, an exception
raised by the rule, parameters or state of the wrong type or shape).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path

from reference_torch.optim import NAMES
from scratch_numpy.schedules import NAMES as SCHEDULES

from .cli import _load_file
from .optimizer import AGAINST, DEFAULT_STEPS, DTYPES, STEPS_PER_EPOCH, _step_counts, check_optimizer

# passed only when given (check_optimizer names a schedule hyperparameter given without its schedule)
OPTIONAL = ("beta", "mu", "beta1", "beta2", "eps", "l2_lambda", "m", "decay_rate", "base", "k", "time_interval")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        rule = load_rule(args.target)
    except SyntaxError as error:
        parser.error(f"{error.filename}: {error.msg}: {error.text!r}")
    except Exception as error:  # a missing file or name, or the module itself failing to import
        parser.error(f"{type(error).__name__}: {error}")
    hyperparameters = {k: getattr(args, k) for k in OPTIONAL if getattr(args, k) is not None}
    if args.nesterov:
        hyperparameters["nesterov"] = True
    try:
        report = check_optimizer(rule, args.rule, lr=args.lr, against=args.against, steps=args.steps,
                                 dtype=args.dtype, seed=args.seed, label=args.target, schedule=args.schedule,
                                 steps_per_epoch=args.steps_per_epoch, **hyperparameters)
    except Exception as error:  # the rule or the arguments: show where, and say it is not a mismatch
        traceback.print_exc()
        print(f"error: the check could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    print(report)
    return 0 if report.passed else 1


def load_rule(target: str):
    """The object NAME of "FILE.py:NAME" or "package.module:NAME"."""
    where, _, name = target.rpartition(":")
    if not where or not name.isidentifier():
        raise ValueError(f"target {target!r} must be FILE.py:NAME or module:NAME")
    module = _load_file(Path(where)) if where.endswith(".py") or "/" in where else importlib.import_module(where)
    if not hasattr(module, name):
        raise AttributeError(f"{where} has no {name!r}")
    return getattr(module, name)


def step_counts(text: str) -> tuple[int, ...]:
    """"1,3,200" -> (1, 3, 200), checked as check_optimizer checks ``steps``."""
    try:
        return _step_counts(tuple(int(k) for k in text.split(",")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be step counts >= 1 separated by commas, e.g. 1,3,200"
                                         ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m parity_tests.checker.optimizer_cli",
                                     description=__doc__.split("\n")[0],
                                     epilog="exit status: 0 agree, 1 mismatch, 2 the check could not run")
    add = parser.add_argument
    add("target", help="FILE.py:NAME or package.module:NAME: update(params, grads, state) -> state, an object "
                       "with step(params, grads), or a class built as cls(params, **hyperparameters)")
    add("--rule", required=True, choices=NAMES, help="the project's rule the code implements")
    add("--lr", required=True, type=float, help="the learning rate")
    add("--beta", type=float, help="momentum's and RMSprop's decay (defaults 0.9 and 0.99)")
    add("--mu", type=float, help="cs231n momentum's mu (default 0.9)")
    add("--nesterov", action="store_true", help="cs231n momentum with Nesterov's look-ahead")
    add("--beta1", type=float, help="Adam's first-moment decay (default 0.9)")
    add("--beta2", type=float, help="Adam's second-moment decay (default 0.999)")
    add("--eps", type=float, help="RMSprop's and Adam's eps (default 1e-8)")
    add("--l2-lambda", type=float, help="L2 on the weights: dW += (lambda / m) W (needs --m)")
    add("--m", type=int, help="the number of training examples in lambda / m")
    add("--steps", type=step_counts, default=DEFAULT_STEPS, metavar="K1,K2,...",
        help="compare after these step counts (default 1,3,200)")
    add("--dtype", choices=DTYPES, default="float64")
    add("--seed", type=int, default=0, help="seed of the parameters and the gradient stream (default 0)")
    add("--against", choices=AGAINST, default="both",
        help="the reference: scratch_numpy.optim, torch.optim as reference_torch.optim builds it, or both "
             "(default)")
    add("--schedule", choices=SCHEDULES, help="a learning-rate schedule of the project's (default: none, a "
                                              "constant rate)")
    add("--decay-rate", type=float, help="inverse_time's and staircase's decay_rate")
    add("--base", type=float, help="exponential's base (the course's 0.95)")
    add("--k", type=float, help="inverse_sqrt_epoch's and inverse_sqrt_step's k")
    add("--time-interval", type=int, help="staircase's time_interval, in epochs")
    add("--steps-per-epoch", type=int, default=STEPS_PER_EPOCH,
        help=f"steps in an epoch of the schedule (default {STEPS_PER_EPOCH})")
    return parser


if __name__ == "__main__":
    sys.exit(main())

"""Check a NumPy forward/backward pair from the command line.

    python -m parity_tests.checker FILE.py:FORWARD,BACKWARD --inputs NAME=SHAPE,... [--params NAME=SHAPE,...]
        [--against "TORCH EXPRESSION"] [options]

Example (examples in columns, the course's 1/m on the parameter gradients):

    python -m parity_tests.checker examples/linear.py:forward,backward_missing_1_over_m \\
        --inputs A_prev=4x8 --params W=3x4,b=3x1 --against "W @ A_prev + b" --convention course

The target is a file path or a dotted module (``scratch_numpy.layers:linear_forward,linear_backward``).
Shapes are sizes joined by ``x``. The torch expression sees ``torch``, ``F`` (torch.nn.functional), every
array by name as a tensor, the ``--fixed``, ``--mask`` and ``--noise`` values, and ``state`` and ``mode``
when given. Without it, central finite differences are the only oracle. The kink probe (a second pass with
inputs set exactly at the kinks) runs whenever there is an expression and ``--inputs``; ``--no-kink-probe``
turns it off.

Prints the parity report (``harness.check_backward``). Exit status: 0 when everything agrees, 1 on a
mismatch, 2 when the check cannot run (bad arguments, a module or expression that does not load, an
exception raised by the code under test).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import re
import sys
import traceback
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reference_torch.bridge import resolve_device

from .harness import GRAD_CONVENTIONS, MODES, Mask, Noise, check_backward

SHAPE = re.compile(r"\d+(x\d+)*")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        oracle = _oracle(args.against)
        device = resolve_device(args.device)
        forward, backward = load_target(args.target)
    except SyntaxError as error:
        parser.error(f"{error.filename}: {error.msg}: {error.text!r}")
    except Exception as error:  # a missing file or name, or the module itself failing to import
        parser.error(f"{type(error).__name__}: {error}")
    inputs, params = _merge(parser, "--inputs", args.inputs), _merge(parser, "--params", args.params)
    if not inputs and not params:
        parser.error("give the arrays to differentiate: --inputs NAME=SHAPE (and/or --params)")
    # The probe needs a torch reference, a kink and an input to move (parameters are never moved).
    probe = args.against is not None and bool(args.kinks) and bool(inputs) and not args.no_kink_probe
    options = dict(inputs=inputs, params=params, fixed=_merge(parser, "--fixed", [args.fixed]),
                   random=_merge(parser, "--mask/--noise", [args.mask, args.noise]),
                   state=_merge(parser, "--state", [args.state]) or None, mode=args.mode, dtype=args.dtype,
                   seed=args.seed, kinks=args.kinks, margin=args.margin, grad_convention=args.convention,
                   batch_axis=args.batch_axis, finite_differences=args.finite_differences, device=device,
                   probe_kinks=probe, label=args.label or args.target)
    try:
        report = check_backward(forward, backward, oracle, **options)
    except Exception as error:  # the user's code or arguments: show where, and say it is not a mismatch
        traceback.print_exc()
        print(f"error: the check could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    print(report)
    return 0 if report.passed else 1


def load_target(target: str):
    """(forward, backward) from "FILE.py:FORWARD,BACKWARD" or "package.module:FORWARD,BACKWARD"."""
    where, _, names = target.rpartition(":")
    functions = names.split(",")
    if not where or len(functions) != 2 or not all(functions):
        raise ValueError(f"target {target!r} must be FILE.py:FORWARD,BACKWARD or module:FORWARD,BACKWARD")
    module = _load_file(Path(where)) if where.endswith(".py") or "/" in where else importlib.import_module(where)
    for name in functions:
        if not callable(getattr(module, name, None)):
            raise AttributeError(f"{where} has no function {name!r}")
    return tuple(getattr(module, name) for name in functions)


def _load_file(path: Path):
    if not path.is_file():
        raise OSError(f"no such file: {path}")
    # As when the file runs as a script: modules beside it are importable.
    if str(path.resolve().parent) not in sys.path:
        sys.path.insert(0, str(path.resolve().parent))
    name = f"_checked_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look a module up by name
    spec.loader.exec_module(module)
    return module


def _oracle(expression: str | None):
    """The torch expression as a function of the arrays, by name; None without one."""
    if expression is None:
        return None
    code = compile(expression, "--against", "eval")
    return lambda **tensors: eval(code, {"torch": torch, "F": F}, tensors)


def _merge(parser, option: str, groups: list[list[tuple[str, object]]]) -> dict[str, object]:
    """(NAME, value) pairs from repeated (and comma-separated) options, in order; a name given twice is an
    error."""
    merged = {}
    for name, item in (pair for group in groups for pair in group):
        if name in merged:
            parser.error(f"{option}: {name!r} is given twice")
        merged[name] = item
    return merged


# --- argument types: each raises ArgumentTypeError, which argparse reports as a usage error ----------

def shape(text: str) -> tuple[int, ...]:
    if not SHAPE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"bad shape {text!r}: write the sizes joined by x, e.g. 4x5")
    return tuple(int(size) for size in text.split("x"))


def _named(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} must be NAME=VALUE with NAME a Python identifier")
    return name, value


def shapes(text: str) -> list[tuple[str, tuple]]:
    """"x=4x5,W=5x3" -> [("x", (4, 5)), ("W", (5, 3))]."""
    return [(name, shape(value)) for name, value in map(_named, text.split(","))]


def value(text: str) -> tuple[str, np.ndarray | float]:
    """NAME=FILE.npy, NAME=SHAPE:FILL (an array filled with a number) or NAME=LITERAL (a number or a nested
    list, read by ast.literal_eval)."""
    name, raw = _named(text)
    if raw.endswith(".npy"):
        try:
            return name, np.load(raw)
        except OSError as error:
            raise argparse.ArgumentTypeError(f"{name}: cannot read {raw}: {error}") from None
    dims, colon, fill = raw.partition(":")
    try:
        if colon:
            return name, np.full(shape(dims), float(fill))
        literal = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(f"{name}: {raw!r} is not FILE.npy, SHAPE:FILL or a Python literal") \
            from None
    return name, np.array(literal) if isinstance(literal, list) else literal


def mask(text: str) -> tuple[str, Mask]:
    """NAME=SHAPE:KEEP_PROB."""
    name, raw = _named(text)
    dims, _, keep_prob = raw.partition(":")
    try:
        return name, Mask(shape(dims), float(keep_prob))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{name}: {raw!r} must be SHAPE:KEEP_PROB ({error})") from None


def noise(text: str) -> tuple[str, Noise]:
    """NAME=SHAPE or NAME=SHAPE:STD."""
    name, raw = _named(text)
    dims, colon, std = raw.partition(":")
    try:
        return name, Noise(shape(dims), float(std) if colon else 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {raw!r} must be SHAPE or SHAPE:STD") from None


def floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be numbers separated by commas") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m parity_tests.checker", description=__doc__.split("\n")[0],
                                     epilog="exit status: 0 agree, 1 mismatch, 2 the check could not run")
    add = parser.add_argument
    add("target", help="FILE.py:FORWARD,BACKWARD or package.module:FORWARD,BACKWARD; forward(**arrays) returns "
                       "(out, cache), backward(dout, cache) returns the gradients (a dict with keys d<name>, "
                       "a sequence in --inputs then --params order, or one array)")
    add("--inputs", "--shapes", type=shapes, action="append", default=[], metavar="NAME=SHAPE,...",
        help="arrays to differentiate, e.g. A_prev=4x8 (repeatable)")
    add("--params", type=shapes, action="append", default=[], metavar="NAME=SHAPE,...",
        help="parameters to differentiate, e.g. W=3x4,b=3x1: they carry the 1/m in --convention course")
    add("--against", metavar="EXPR", help='the torch expression, e.g. "W @ A_prev + b"; without it, '
                                          "finite differences are the oracle")
    add("--convention", choices=GRAD_CONVENTIONS, default="vjp",
        help="vjp: every gradient is dout^T J (cs231n); course: parameter gradients carry 1/m (default vjp)")
    add("--finite-differences", action="store_true", help="also compare with central finite differences")
    add("--fixed", type=value, action="append", default=[], metavar="NAME=VALUE",
        help="a constant argument: FILE.npy, SHAPE:FILL or a literal, e.g. keep_prob=0.8 (repeatable)")
    add("--mask", type=mask, action="append", default=[], metavar="NAME=SHAPE:KEEP_PROB",
        help="a dropout mask drawn by the check and given to both sides (repeatable)")
    add("--noise", type=noise, action="append", default=[], metavar="NAME=SHAPE[:STD]",
        help="Gaussian noise drawn by the check and given to both sides (repeatable)")
    add("--state", type=value, action="append", default=[], metavar="NAME=VALUE",
        help="initial state passed as state= (a dict the forward updates), compared after the step, "
             "e.g. running_var=4x1:1 (repeatable)")
    add("--mode", choices=MODES, help="passed as mode= to forward and expression")
    add("--seed", type=int, default=0, help="seed of the drawn arrays (default 0)")
    add("--dtype", choices=("float64", "float32"), default="float64")
    add("--device", choices=("auto", "cpu", "cuda"), default="cpu", help="where the torch side runs")
    add("--kinks", type=floats, default=(0.0,), metavar="K1,K2,...",
        help="points where the derivative is a convention (default 0); drawn values stay 1e-3 away")
    add("--margin", type=float, default=1e-3, help="distance kept from the kinks (default 1e-3)")
    add("--no-kink-probe", action="store_true", help="skip the pass with inputs set exactly at the kinks")
    add("--batch-axis", type=int, default=-1, help="the output's examples axis (default -1: columns)")
    add("--label", help="the report's title (default: the target)")
    return parser


"""Check a NumPy forward/backward pair from the command line.

    python -m parity_tests.checker FILE.py:FORWARD,BACKWARD --inputs NAME=SHAPE,... [--params NAME=SHAPE,...]
        [--against "TORCH EXPRESSION"] [options]

Example (examples in columns, the course's 1/m on the parameter gradients):

    python -m parity_tests.checker examples/linear.py:forward,backward_missing_1_over_m \\
        --inputs A_prev=4x8 --params W=3x4,b=3x1 --against "W @ A_prev + b" --convention course

The target is a file path or a dotted module (``scratch_numpy.layers:linear_forward,linear_backward``).
Shapes are sizes joined by ``x``, optionally followed by a domain to draw from (``harness.Domain``):
``p=4x6:unit``, ``x=4x6:positive`` (``normal`` is the default); ``--draw y=1x6:int:0:3`` draws labels in
[0, 3), passed to both sides and not differentiated. The torch expression sees ``torch``, ``F``
(torch.nn.functional), every array by name as a tensor, the ``--fixed``, ``--mask``, ``--noise`` and ``--draw``
values, and ``state`` and ``mode`` when given. Without it, central finite differences are the only oracle. The kink probe (a second pass with
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

from .draws import as_domain
from .harness import GRAD_CONVENTIONS, MODES, Domain, Mask, Noise, check_backward

SHAPE = re.compile(r"\d+(x\d+)*")
NUMBERS = re.compile(r"-[\d.]+(e-?\d+)?(,[-\d.e]*)*")
NUMBER_OPTIONS = ("--kinks",)  # options whose value may start with a minus sign
DOMAINS = {"normal": Domain.normal, "positive": Domain.positive, "unit": Domain.unit}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(_attach_negative_values(sys.argv[1:] if argv is None else argv))
    try:
        oracle = expression_oracle(args.against)
        device = resolve_device(args.device)
        forward, backward = load_target(args.target)
    except SyntaxError as error:
        parser.error(f"{error.filename}: {error.msg}: {error.text!r}")
    except Exception as error:  # a missing file or name, or the module itself failing to import
        parser.error(f"{type(error).__name__}: {error}")
    inputs, params = _merge(parser, "--inputs", args.inputs), _merge(parser, "--params", args.params)
    if not inputs and not params:
        parser.error("give the arrays to differentiate: --inputs NAME=SHAPE (and/or --params)")
    # The probe needs a torch reference and an input to move, with a kink inside its domain (parameters and
    # --values are never moved).
    values = _merge(parser, "--values", [args.values])
    probe = args.against is not None and not args.no_kink_probe and probe_possible(inputs, values, args.kinks)
    options = dict(inputs=inputs, params=params, fixed=_merge(parser, "--fixed", [args.fixed]), values=values,
                   random=_merge(parser, "--mask/--noise/--draw", [args.mask, args.noise, args.draw]),
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


def probe_possible(inputs: dict, values, kinks) -> bool:
    """Whether the kink probe can move anything: an input drawn (not given in ``values``) whose domain holds a
    kink. Used by the command line and the pytest plugin."""
    return any(name not in values and as_domain(spec).kinks_inside(kinks) for name, spec in inputs.items())


def _attach_negative_values(argv: list[str]) -> list[str]:
    """``--kinks -1,1`` as ``--kinks=-1,1``: argparse takes "-1,1" for an option (only a lone negative number
    passes as a value) and reports that --kinks lacks its argument."""
    attached = []
    for arg in argv:
        if attached and attached[-1] in NUMBER_OPTIONS and NUMBERS.fullmatch(arg):
            attached[-1] += "=" + arg
        else:
            attached.append(arg)
    return attached


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


def expression_oracle(expression: str | None):
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


def domain(text: str) -> Domain:
    """SHAPE or SHAPE:DOMAIN, DOMAIN one of normal (the default), positive, unit or int:LOW:HIGH."""
    dims, _, kind = text.partition(":")
    kind, _, bounds = (kind or "normal").partition(":")
    if kind == "int":
        low, colon, high = bounds.partition(":")
        try:
            return Domain.integers(shape(dims), int(low), int(high))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad integer domain {text!r}: write SHAPE:int:LOW:HIGH, e.g. "
                                             "1x6:int:0:3 for labels in [0, 3)") from None
    if kind not in DOMAINS or bounds:
        raise argparse.ArgumentTypeError(f"bad domain {kind!r} in {text!r}: one of {', '.join(DOMAINS)} or "
                                         "int:LOW:HIGH")
    return DOMAINS[kind](shape(dims))


def shapes(text: str) -> list[tuple[str, Domain]]:
    """"x=4x5,p=5x3:unit" -> [("x", Domain.normal((4, 5))), ("p", Domain.unit((5, 3)))]."""
    return [(name, domain(value)) for name, value in map(_named, text.split(","))]


def drawn(text: str) -> tuple[str, Domain]:
    """NAME=SHAPE:DOMAIN, an array drawn by the check and passed to both sides, e.g. y=1x6:int:0:3."""
    name, raw = _named(text)
    return name, domain(raw)


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
    add("--inputs", "--shapes", type=shapes, action="append", default=[], metavar="NAME=SHAPE[:DOMAIN],...",
        help="arrays to differentiate, e.g. A_prev=4x8 or p=4x6:unit; DOMAIN is normal (default), positive or "
             "unit (repeatable)")
    add("--params", type=shapes, action="append", default=[], metavar="NAME=SHAPE[:DOMAIN],...",
        help="parameters to differentiate, e.g. W=3x4,b=3x1: they carry the 1/m in --convention course")
    add("--values", type=value, action="append", default=[], metavar="NAME=VALUE",
        help="the value of an input or parameter instead of a draw (still differentiated, not moved off the "
             "kinks): FILE.npy, SHAPE:FILL or a literal (repeatable)")
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
    add("--draw", type=drawn, action="append", default=[], metavar="NAME=SHAPE:DOMAIN",
        help="an array drawn by the check and given to both sides, not differentiated, e.g. labels "
             "y=1x6:int:0:3 in [0, 3) (repeatable)")
    add("--state", type=value, action="append", default=[], metavar="NAME=VALUE",
        help="initial state passed as state= (a dict the forward updates), compared after the step, "
             "e.g. running_var=4x1:1 (repeatable)")
    add("--mode", choices=MODES, help="passed as mode= to forward and expression")
    add("--seed", type=int, default=0, help="seed of the drawn arrays (default 0)")
    add("--dtype", choices=("float64", "float32"), default="float64")
    add("--device", choices=("auto", "cpu", "cuda"), default="cpu", help="where the torch side runs")
    add("--kinks", type=floats, default=(0.0,), metavar="K1,K2,...",
        help="points where the derivative is a convention (default 0), e.g. --kinks -1,1; drawn values stay "
             "1e-3 away")
    add("--margin", type=float, default=1e-3, help="distance kept from the kinks (default 1e-3)")
    add("--no-kink-probe", action="store_true", help="skip the pass with inputs set exactly at the kinks")
    add("--batch-axis", type=int, default=-1, help="the output's examples axis (default -1: columns)")
    add("--label", help="the report's title (default: the target)")
    return parser


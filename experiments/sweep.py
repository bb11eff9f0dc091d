"""python -m experiments sweep: a hyperparameter sweep of an experiment on Ray Tune.

    python -m experiments sweep NAME --trials N [--search random|grid|tpe] [--scheduler none|asha]
                          [--address auto|HOST:PORT] [--workers N] [--quick] [--logdir runs]
                          [--seed N] [--dtype float64|float32] [--data-dir DIR]
    python -m experiments sweep --resume SWEEP_DIR [--address ... | --workers N]   (its saved plan: no other option)

NAME is an experiment that declares a search space (runner.Experiment.space, an
experiments.search.Space: its axes, the hparams its trials share, the metric and whether to
minimise or maximise it). Each trial is one configuration run on both sides, NumPy then torch,
with the same seed and initial weights, through the shared runner (experiments.sweep_trial).

Search (--search):
    random   Tune's BasicVariantGenerator, N draws, seeded from --seed (the same command draws
             the same trials); each axis on its own scale: LogUniform and OneMinusLog as
             tune.loguniform (OneMinusLog samples 1 - beta), IntRange as tune.randint, Choice as
             tune.choice
    grid     a k-point grid per axis on the axis's scale (search.*.grid: log10-even for the log
             axes), all k^d combinations (tune.grid_search): N must be k^d for d axes, k >= 2, and
             each axis must take k points (an IntRange at most its width, a Choice exactly its size)
    tpe      Optuna's TPE sampler (ray.tune.search.optuna.OptunaSearch, seeded from --seed), N trials;
             it needs optuna (requirements.txt pins it)
Scheduler (--scheduler):
    none     every trial runs its whole budget on both sides
    asha     the course's "caviar" strategy, many trials, the poor ones stopped early: ASHAScheduler
             with time_attr "epoch" (the NumPy run reports the metric after each epoch 1..E),
             grace period GRACE = 1 epoch, reduction factor REDUCTION = 2 (rungs at epochs 1, 2, 4,
             ...: at each, a trial goes on only if its metric is in the better half of the trials
             that reached that rung so far), max_t = E + 1, the final report (both sides' metrics)
             at E + 1, so no rung cuts it. A trial stopped by ASHA ends there: its torch side does
             not run.
Where (--address / --workers):
    default  an embedded Ray on this machine, ray.init(num_cpus=--workers, no dashboard): --workers
             trials at a time (default: one per core)
    address  join a running cluster (auto, or HOST:PORT of its head, which must accept a connection
             within CONNECT_S, else bad input); --workers is then not allowed (the cluster's CPUs
             decide). Ray takes a HOST of 127.0.0.1 or localhost as this
             machine's network address, where `ray start --head` listens by default. A head
             started with token authentication (Ray's default) is joined in token mode when a
             token is at hand (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token) and
             RAY_AUTH_MODE is not set. Each trial imports this project: every node must have it
             installed (pip install .) or, on one machine, see the checkout: the workers get
             PYTHONPATH = the checkout. The sweep's log directory must be one the trials can write:
             this machine, or a file system every node shares.
Every trial's worker runs NumPy's BLAS, OpenMP, MKL and torch with one thread (worker.THREADS,
runner.configured): the parallelism is across trials.

Output, in the sweep's root <logdir>/sweeps/<experiment>[-N] (tblog.claim_root):
    <trial>/{numpy,torch}   each trial's runs (runner.run_one's layout: TensorBoard events,
                            checkpoint, figures; <trial>/row.json its pairing.pair_row), and at
                            the end the HParams summary of each run (tblog.write_summaries: one
                            row per trial and side; a trial stopped by ASHA has its NumPy run
                            with the metric it reached)
    tune/                   Ray Tune's state and its JSON record of each trial's results (its own
                            TBX and CSV loggers are off)
    sweep.json              the plan (written first), then the table, the best trial and the
                            budget
and a table on stdout, sorted by the metric (the finished trials first, then those ASHA stopped,
whose metric is of a shorter budget; a NaN metric last of its group): trial, hyperparameters,
NumPy's and torch's metric, |difference|, parts at (the iteration from which the two sides' costs
differ by more than pairing.PARTED: a trial chaotic at its hyperparameters, whose two columns are
each side's own run; "-" where they never part), epochs run (both sides), status (finished, stopped
by ASHA, error), then the trials whose sides part, the best finished trial and "ran X of Y epochs
(Z % of the budget saved)",
Y = 2 E per trial that did not raise (both sides; a trial that raised is in neither X nor Y).

Exit status: 0 done; 1 a trial raised (its error is printed); 2 bad input (one "error:" line: an
unknown experiment or one without a space, a bad option, a grid an axis cannot take, an --address
that is not auto or HOST:PORT, --resume of a directory that is not a sweep or with an option its
saved plan decides); 130 interrupted (Ctrl-C: Tune saves its state; ``--resume SWEEP_DIR`` runs
the trials that had not finished, and never reruns a finished one; an unfinished trial starts again
from epoch 0).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import socket
import sys
from dataclasses import asdict, dataclass
from pathlib import Path


def _token_mode() -> None:
    """RAY_AUTH_MODE=token when a token is at hand (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or
    ~/.ray/auth_token) and no mode is chosen: a head started by `ray start` checks a token (Ray
    2.60's default, as for an embedded Ray), which a driver sends only in token mode. Ray reads the
    mode when it loads: this runs before it is imported."""
    token = os.environ.get("RAY_AUTH_TOKEN") or Path(os.environ.get(
        "RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token")).is_file()
    if token:
        os.environ.setdefault("RAY_AUTH_MODE", "token")


_token_mode()

import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray._private.services import resolve_ip_for_localhost  # noqa: E402
from ray.tune.logger import JsonLoggerCallback  # noqa: E402
from ray.tune.schedulers import ASHAScheduler  # noqa: E402
from ray.tune.search import BasicVariantGenerator  # noqa: E402

from . import search, sweep_trial, worker  # noqa: E402
from .pairing import PARTED  # noqa: E402
from .catalog import EXPERIMENTS  # noqa: E402
from .settings import CheckedParser, Settings, make_settings  # noqa: E402
from .tblog import check_writable, claim_root, write_summaries  # noqa: E402

FAILED, BAD_INPUT, INTERRUPTED = 1, 2, 130
SEARCHES, SCHEDULERS = ("random", "grid", "tpe"), ("none", "asha")
GRACE, REDUCTION = 1, 2      # ASHA: the first rung's epoch, and 1 / the fraction that goes on at each rung
SUMMARY, TUNE_DIR = "sweep.json", "tune"
STOPPED = "stopped by ASHA"
CONNECT_S = 10               # --address HOST:PORT: how long to wait for the head to accept a connection


def build_parser() -> argparse.ArgumentParser:
    parser = CheckedParser(prog="python -m experiments sweep", description="A hyperparameter sweep on Ray Tune, "
                     "both sides per trial (see experiments/sweep.py)")
    parser.add_argument("name", nargs="?", metavar="NAME", help=f"an experiment with a search space: {swept()}")
    parser.add_argument("--trials", default=None, metavar="N", help="the number of trials (grid: k^d)")
    parser.add_argument("--search", default=None, help="random, grid or tpe (default random)")
    parser.add_argument("--scheduler", default=None, help="none or asha (default none)")
    parser.add_argument("--address", default=None, help="join a Ray cluster: auto or HOST:PORT (default: an "
                        "embedded Ray on this machine)")
    parser.add_argument("--workers", default=None, metavar="N", help="trials at a time on the embedded Ray "
                        "(default: one per core)")
    parser.add_argument("--resume", default=None, metavar="SWEEP_DIR", help="continue an interrupted sweep")
    parser.add_argument("--quick", action="store_true", help="small budgets (tests, CI)")
    parser.add_argument("--logdir", default=None, help="TensorBoard root (default runs/)")
    parser.add_argument("--seed", default=None, help="the sweep's and the trials' seed (default 0)")
    parser.add_argument("--dtype", default=None, help="float64 or float32 (default float64)")
    parser.add_argument("--data-dir", default=None, help="folder of the course's HDF5 files")
    return parser


def swept() -> list:
    """The names of the experiments that declare a search space."""
    return [name for name, experiment in EXPERIMENTS.items() if experiment.space is not None]


def _count(option: str, text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{option} must be an integer >= 1, got {text!r}")
    return int(text)


@dataclass(frozen=True)
class Plan:
    """A checked sweep (sweep.json's "plan"): paths absolute, ``root`` the sweep's root."""

    experiment: str
    trials: int
    search: str
    scheduler: str
    seed: int
    dtype: str
    quick: bool
    logdir: str
    data_dir: str | None
    root: str


def plan_from(args) -> Plan:
    """The Plan of a new sweep from the parsed options; bad input is a ValueError naming the option.
    Claims the sweep's root (after every check)."""
    if args.name is None:
        raise ValueError(f"the following arguments are required: NAME (one of {swept()}) or --resume SWEEP_DIR")
    if args.name not in swept():
        raise ValueError(f"{args.name!r} has no search space to sweep; the experiments that have one: {swept()}")
    if args.trials is None:
        raise ValueError("--trials N is required")
    trials = _count("--trials", args.trials)
    chosen = {option: given if given is not None else default for option, given, default in
              (("--search", args.search, "random"), ("--scheduler", args.scheduler, "none"),
               ("--seed", args.seed, "0"), ("--dtype", args.dtype, "float64"), ("--logdir", args.logdir, "runs"))}
    for option, choices in (("--search", SEARCHES), ("--scheduler", SCHEDULERS)):
        if chosen[option] not in choices:
            raise ValueError(f"{option} must be one of {', '.join(choices)}, got {chosen[option]!r}")
    if not chosen["--seed"].isdigit():
        raise ValueError(f"--seed must be an integer >= 0, got {chosen['--seed']!r}")
    settings = make_settings(device="cpu", dtype=chosen["--dtype"], logdir=chosen["--logdir"],
                             data_dir=args.data_dir, seed=int(chosen["--seed"]), quick=args.quick)
    if chosen["--search"] == "grid":
        grid_side(EXPERIMENTS[args.name].space, trials)
    logdir = check_writable(Path(settings.logdir).resolve())
    root = claim_root(logdir / "sweeps", args.name)
    return Plan(args.name, trials, chosen["--search"], chosen["--scheduler"], settings.seed, settings.dtype,
                settings.quick, str(logdir), settings.data_dir and str(Path(settings.data_dir).resolve()), str(root))


def grid_side(space: search.Space, trials: int) -> int:
    """k, the grid's points per axis, with k^d = ``trials`` for d axes; else a ValueError saying
    which numbers of trials a grid takes."""
    d = len(space.axes)
    k = round(trials ** (1 / d))
    if k < 2 or k ** d != trials:
        works = ", ".join(str(j ** d) for j in range(2, 6))
        raise ValueError(f"--search grid runs k^{d} trials (k points on each of the {d} axes {list(space.axes)}): "
                         f"--trials {works}, ...; got {trials}")
    for name, axis in space.axes.items():   # the axis's own limits: an IntRange's width, a Choice's size
        try:
            axis.grid(k)
        except ValueError as error:
            raise ValueError(f"--search grid with --trials {trials} puts {k} points on each axis: {name}: {error}") \
                from None
    return k


def base_hparams(plan: Plan) -> dict:
    """The hparams ``plan``'s trials share (its space's base at its budget and seed)."""
    return EXPERIMENTS[plan.experiment].space.base(Settings(seed=plan.seed, quick=plan.quick))


def domain(axis):
    """The Tune domain of the quantity ``axis`` samples (experiments.search)."""
    if isinstance(axis, search.LogUniform):   # OneMinusLog too: 1 - beta is what is log-uniform
        return tune.loguniform(10.0 ** axis.a, 10.0 ** axis.b)
    if isinstance(axis, search.IntRange):
        return tune.randint(axis.low, axis.high + 1)   # randint's upper end is excluded
    if isinstance(axis, search.Choice):
        return tune.choice(list(axis.values))
    raise ValueError(f"unknown axis {axis!r}")


def tuner_parts(plan: Plan) -> tuple:
    """(param_space, TuneConfig) of ``plan``: the axes as Tune domains (or grids) plus the sweep's
    constants under sweep_trial.SWEEP, the search algorithm, the scheduler, the metric."""
    space = EXPERIMENTS[plan.experiment].space
    constants = {k: v for k, v in asdict(plan).items() if k in ("experiment", "root", "logdir", "data_dir", "seed",
                                                                "dtype", "quick")}
    samples, num_samples, algorithm = {}, plan.trials, None
    if plan.search == "grid":
        k = grid_side(space, plan.trials)
        samples = {axis.key(name): tune.grid_search(axis.grid(k)) for name, axis in space.axes.items()}
        num_samples = 1   # one pass over the grid
    else:
        samples = {axis.key(name): domain(axis) for name, axis in space.axes.items()}
        algorithm = BasicVariantGenerator(random_state=plan.seed) if plan.search == "random" else tpe(plan.seed)
    scheduler = None
    if plan.scheduler == "asha":
        epochs = base_hparams(plan)["epochs"]
        scheduler = ASHAScheduler(time_attr="epoch", max_t=epochs + 1, grace_period=GRACE, reduction_factor=REDUCTION)
    config = tune.TuneConfig(metric=space.metric, mode=space.mode, search_alg=algorithm, scheduler=scheduler,
                             num_samples=num_samples, reuse_actors=True, trial_name_creator=sweep_trial.trial_name,
                             trial_dirname_creator=sweep_trial.trial_name)
    return {**samples, sweep_trial.SWEEP: constants}, config


def tpe(seed: int):
    """Optuna's TPE searcher, seeded; a ValueError naming the package when optuna is missing."""
    try:
        from ray.tune.search.optuna import OptunaSearch
        import optuna  # noqa: F401   (OptunaSearch imports it lazily: fail here, before any trial)
    except ImportError:
        raise ValueError("--search tpe needs the package optuna (pip install optuna==5.1.0)") from None
    return OptunaSearch(seed=seed)


def check_address(address: str) -> None:
    """A ValueError unless ``address`` is auto or HOST:PORT (PORT in 1..65535) where something
    listens: ray.init would otherwise retry an address nobody answers for minutes."""
    if address == "auto":
        return
    host, colon, port = address.rpartition(":")
    if not (colon and host and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"--address must be auto or HOST:PORT (a Ray head's address), got {address!r}")
    host = host.strip("[]")
    # as ray.init does: a loopback HOST stands for this machine's address, where a head listens
    for tried in dict.fromkeys([host, resolve_ip_for_localhost(host)]):
        try:
            socket.create_connection((tried, int(port)), timeout=CONNECT_S).close()
            return
        except OSError as error:
            failure = error
    raise ValueError(f"--address {address}: no Ray head answers there ({failure})")


def start_ray(workers: int | None, address: str | None) -> None:
    """ray.init: an embedded Ray with ``workers`` CPUs and no dashboard, or (``address``) a
    connection to a running cluster. Its workers get one BLAS/OpenMP/MKL thread and PYTHONPATH =
    this checkout (before their NumPy loads: the runtime environment's variables)."""
    checkout = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (checkout, os.environ.get("PYTHONPATH")) if p)
    env = {"runtime_env": {"env_vars": {**dict.fromkeys(worker.THREADS, "1"), "PYTHONPATH": path}},
           "logging_level": logging.WARNING}
    if address is not None:
        ray.init(address=address, **env)
    else:
        ray.init(num_cpus=workers, include_dashboard=False, **env)


def run(plan: Plan, workers: int | None, address: str | None, resume: bool) -> int:
    """Run (or, ``resume``, continue) ``plan``'s sweep and print its table (module docstring)."""
    root = Path(plan.root)
    # of Tune's own loggers only JSON (tune/<trial>/result.json, its record of each trial's results):
    # no TBX events beside the runs', no CSV
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    start_ray(workers, address)
    try:
        if resume:
            tuner = tune.Tuner.restore(str(root / TUNE_DIR), sweep_trial.trainable, resume_unfinished=True,
                                       resume_errored=True)
        else:
            param_space, config = tuner_parts(plan)
            tuner = tune.Tuner(sweep_trial.trainable, param_space=param_space, tune_config=config,
                               run_config=tune.RunConfig(name=TUNE_DIR, storage_path=str(root), verbose=0,
                                                         callbacks=[JsonLoggerCallback()]))
        grid = tuner.fit()
    finally:
        ray.shutdown()
    # the trials' states as Tune saved them (an interrupted sweep saves before it stops its trials,
    # which the returned grid then shows as terminated)
    saved = [trial.status for trial in tune.ExperimentAnalysis(str(root / TUNE_DIR)).trials]
    done = sum(status in ("TERMINATED", "ERROR") for status in saved)
    if done < plan.trials:
        print(f"interrupted: {done} of {plan.trials} trials done; Tune saved its state.\n"
              f"resume with: python -m experiments sweep --resume {root}", file=sys.stderr)
        return INTERRUPTED
    summary = summarise(plan, grid)
    print(table(plan, summary))
    return FAILED if summary["errors"] else 0


def summarise(plan: Plan, grid) -> dict:
    """sweep.json's content from Tune's results ``grid``: the trials' rows (sorted: finished by
    the metric, then ASHA's stopped, then errors), the best finished trial (its metric not NaN),
    the epochs run and the budget; written to sweep.json, and each run's HParams summary written (write_summaries)."""
    experiment = EXPERIMENTS[plan.experiment]
    space, root = experiment.space, Path(plan.root)
    rows, pairs, errors = [], [], []
    for result in grid:
        name = Path(result.path).name
        hparams = {**base_hparams(plan), **space.hparams(result.config)}
        if result.error is not None:
            errors.append(f"{name}: {result.error}")
            rows.append({"trial": name, "hparams": hparams, "numpy": None, "torch": None, "difference": None,
                         "parted_at": None, "epochs": 0, "status": "error"})
            continue
        epochs, m = hparams["epochs"], result.metrics
        if m.get(sweep_trial.FINISHED):
            pair = json.loads((root / name / sweep_trial.ROW).read_text())
            rows.append({"trial": name, "hparams": hparams, "numpy": m["numpy"], "torch": m["torch"],
                         "difference": m["difference"], "parted_at": pair["divergence"].get("parted_at"),
                         "epochs": 2 * epochs, "status": "finished"})
        else:   # stopped by ASHA during its NumPy run, after its last reported epoch
            pair = {"variant": name, "hparams": hparams, "published": {}, "chaos": None, "disputed": {},
                    "metrics": {"numpy": {space.metric: m[space.metric]}}, "divergence": {}}
            rows.append({"trial": name, "hparams": hparams, "numpy": m[space.metric], "torch": None,
                         "difference": None, "parted_at": None, "epochs": m["epoch"], "status": STOPPED})
        pairs.append(pair)
    sign = 1 if space.mode == "min" else -1
    order = {"finished": 0, STOPPED: 1, "error": 2}

    def rank(r):   # a NaN metric (a diverged trial) after the others of its status: never the best
        x = r["numpy"]
        bad = x is None or math.isnan(x)
        return order[r["status"]], bad, 0 if bad else sign * x

    rows.sort(key=rank)
    write_summaries(experiment, root, {"experiment": experiment.name, "claim": experiment.claim, "claims": [],
                                       "devices": {"numpy": "cpu", "torch": "cpu"}, "variants": pairs})
    # the budget of the trials that ran (an errored trial's epochs are unknown, and not ASHA's saving)
    budget = sum(2 * r["hparams"]["epochs"] for r in rows if r["status"] != "error")
    ran = sum(r["epochs"] for r in rows if r["status"] != "error")
    best = next((r for r in rows if r["status"] == "finished" and not math.isnan(r["numpy"])), None)
    summary = {"plan": asdict(plan), "metric": space.metric, "mode": space.mode,
               "asha": {"time_attr": "epoch", "grace_period": GRACE, "reduction_factor": REDUCTION}
               if plan.scheduler == "asha" else None,
               "trials": rows, "best": best,
               "epochs": {"run": ran, "budget": budget, "saved": 1 - ran / budget if budget else 0.0},
               "errors": errors, "tensorboard": str(root), "tune": str(root / TUNE_DIR)}
    (root / SUMMARY).write_text(json.dumps(summary, indent=1))
    return summary


def _number(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(plan: Plan, summary: dict) -> str:
    """The sweep's table, best trial, budget and where its runs are (module docstring)."""
    metric, rows = summary["metric"], summary["trials"]
    names = list(EXPERIMENTS[plan.experiment].space.axes)
    head = ["trial", *names, f"NumPy {metric}", f"torch {metric}", "|difference|", "parts at", "epochs", "status"]
    body = [[r["trial"], *(_number(r["hparams"][n], ".4g") for n in names), _number(r["numpy"], ".6g"),
             _number(r["torch"], ".6g"), _number(r["difference"], ".1e"), _number(r["parted_at"], "d"),
             str(r["epochs"]), r["status"]] for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    lines = [f"{plan.experiment}: {len(rows)} trials, {plan.search} search, scheduler {plan.scheduler}, "
             f"{summary['mode']}imising {metric}", "  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in body]
    best = summary["best"]
    if best:
        lines.append(f"best: {best['trial']}, " + ", ".join(f"{n} {best['hparams'][n]:.4g}" for n in names)
                     + f": {metric} {best['numpy']:.6g} (NumPy), {best['torch']:.6g} (torch)")
    parted = [r["trial"] for r in rows if r["parted_at"] is not None]
    if parted:   # chaotic at these hyperparameters: each column is that side's own run, never rounded together
        lines.append(f"NumPy and torch part in {len(parted)} of {len(rows)} trials ({', '.join(parted)}): their "
                     f"costs differ by more than {PARTED:g} (relative) from the iteration under 'parts at' on")
    e = summary["epochs"]
    who = "ASHA" if plan.scheduler == "asha" else "the sweep"
    lines.append(f"{who} ran {e['run']} of {e['budget']} epochs ({100 * e['saved']:.0f} % of the budget saved)")
    lines += [*summary["errors"], f"runs: {plan.root}/<trial>/{{numpy,torch}}; summary: {plan.root}/{SUMMARY}; "
              f"curves and HParams: tensorboard --logdir {plan.root}"]
    return "\n".join(lines)


def resumed_plan(path) -> Plan:
    """The Plan saved in a sweep's root ``path``; a ValueError when it is not a sweep's root."""
    root = Path(path).resolve()
    try:
        plan = Plan(**json.loads((root / SUMMARY).read_text())["plan"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError(f"--resume {path}: not a sweep directory (no readable {SUMMARY} with a plan)") from None
    if not tune.Tuner.can_restore(str(root / TUNE_DIR)) or plan.experiment not in swept():
        raise ValueError(f"--resume {path}: not a sweep directory Tune can restore ({root / TUNE_DIR})")
    return plan


def main(argv) -> int:
    """The command (module docstring): 0, 1 (a trial raised), 2 (bad input) or 130 (interrupted)."""
    try:
        args = build_parser().parse_args(argv)
        if args.address is not None and args.workers is not None:
            raise ValueError("--workers is for the embedded Ray; with --address the cluster's CPUs decide")
        if args.address is not None:
            check_address(args.address)
        workers = None if args.address is not None else (_count("--workers", args.workers) if args.workers
                                             else len(os.sched_getaffinity(0)))
        if args.resume is not None:
            given = [o for o, v in (("NAME", args.name), ("--trials", args.trials), ("--search", args.search),
                                    ("--scheduler", args.scheduler), ("--seed", args.seed), ("--dtype", args.dtype),
                                    ("--logdir", args.logdir), ("--data-dir", args.data_dir),
                                    ("--quick", args.quick or None)) if v is not None]
            if given:
                raise ValueError(f"--resume takes the sweep's plan from its {SUMMARY}; drop {', '.join(given)}")
            plan = resumed_plan(args.resume)
        else:
            plan = plan_from(args)
            Path(plan.root, SUMMARY).write_text(json.dumps({"plan": asdict(plan)}, indent=1))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    try:
        return run(plan, workers, args.address, args.resume is not None)
    except ConnectionError as error:   # --address auto with no cluster running, a head that went away
        print(f"error: --address {args.address}: {error}".replace("\n", " "), file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print(f"interrupted; resume with: python -m experiments sweep --resume {plan.root}", file=sys.stderr)
        return INTERRUPTED

"""TensorBoard logging: one SummaryWriter per run directory runs/<experiment>/<variant>/<impl>.

Every scalar a run writes is tagged <experiment>/<variant>/<quantity>/<unit> (``RunLogger.tag``):
<experiment> is the experiment's name (not its run root's -2, -3 suffix), <variant> the variant's,
and the last component is always the unit of the step (UNITS), so one chart has one x axis and,
in ``tensorboard --logdir runs``, a tag's chart holds exactly the two runs (NumPy and torch) of
one variant. A run logs those that apply to it (P = <experiment>/<variant>):

    P/cost/iteration, P/learning_rate/iteration    per update (mini-batch: per mini-batch; full
                                                    batch: one iteration is one epoch), at most
                                                    SCALAR_POINTS points
    P/accuracy/train/<unit>, P/accuracy/test/<unit>
                                                    the held-out split is "test" or, where the
                                                    experiment holds it out for choosing (early
                                                    stopping, search, bias/variance), "dev":
                                                    P/accuracy/dev/<unit>, never called test;
                                                    <unit> epoch (mini-batch, at most SCALAR_POINTS)
                                                    or iteration (full batch, EVALUATIONS points)
    P/grad_norm/W1/<unit>, ...                      ||dJ/dW_l||_F on the whole training set
                                                    (EVALUATIONS points; epoch or iteration)
    P/divergence/log10_cost/iteration               torch run of a pair: log10(|cost_numpy -
                                                    cost_torch| / |cost_numpy|), exact agreement
                                                    written as LOG10_FLOOR (-17) and anything
                                                    beyond 10^LOG10_CEILING (a NaN or inf cost on
                                                    one side only) as LOG10_CEILING (+3), so no
                                                    point is ever off the chart's axis
    P/w/iteration, P/cost/iteration                 autograd_basics' gradient descent on w
    P/grad_norm_A/layer, P/grad_norm_W/layer, P/activation_norm/layer, P/closed_form_grad_norm_A/layer
                                                    vanishing_exploding's profile: x = layer l
    <experiment>/hparams/<metric>/run               the final metrics (results.json's) as the
                                                    HParams plugin's metrics, one value per run
                                                    (step 0); on the torch run of a pair also
                                                    log10_cost_divergence and log10_params_divergence
                                                    (log10 of the cost trajectories' and of the final
                                                    parameters' relative divergence, within the same
                                                    floor and ceiling).
                                                    The one exception to P: an HParams column is a
                                                    tag, and the variants of an experiment must
                                                    share its columns to be compared there

Other summaries carry P too (RunLogger adds it): P/weights/W1, P/gradients/dW1 (histograms,
HISTOGRAMS points); P/figure/<name> (the pair's figures, experiments.figures); P/config (text:
settings, seed, hyperparameters, data, device); P/result (text, the result card, in the variant's last run:
each claim that reads the variant with its verdict per side, the published figures against
NumPy's and torch's values with the report's match, and the pair's divergence). A single value
is never a lone-dot scalar: it is an HParams metric or in a text.

At its end (``write_summaries``, called by runner.finish once the experiment's variants have
run) each run also gets a custom-scalars layout (the custom_scalars plugin: the "Custom Scalars"
tab): one category per experiment and, per variant that ran, a chart of ^P/cost/ (both sides'
cost curves) and beneath it a chart of ^P/divergence/; every run of the experiment writes the
whole category (``layout`` says why). And each run gets its HParams summary, in the run itself
(``RunLogger.hparams``; not an add_hparams sub-run): the hparams
``impl``, ``experiment``, ``variant`` and then the variant's hyperparameters, those that differ
between the experiment's variants first; the metrics <experiment>/hparams/<metric>/run. The
session is the run directory itself, so an HParams row is named by its full run
(<root>/<variant>/<impl>, or <variant>/<impl> with the root as log directory: ``view NAME``). The
table's columns are the experiment's (its summary, written with each run); over a log directory of
several experiments TensorBoard shows the columns of one of them, so open one experiment's root.

Scalars are stored as float32 (add_scalar's default). A run directory is never
reused: ``claim_root`` gives each run of an experiment a fresh root
(<experiment>, then <experiment>-2, -3, ...), and RunLogger refuses a
directory that already exists, except to resume a run from its checkpoint or to add the end of
run summaries (runner.finish): that goes into a new event file beside the old ones (SummaryWriter's
file names carry the time, host and process id), so nothing already logged is overwritten.
``claim_file`` gives other result files the same treatment (name, then name-2, -3, ...).
``check_writable`` probes a log directory before anything runs, so an unwritable or full disk is
a clear error, not a crash mid-run.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import numpy as np
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summaries

SCALAR_POINTS = 500   # per-iteration and per-epoch scalars
EVALUATIONS = 50      # whole-training-set evaluations: accuracies of full-batch runs, gradient norms
HISTOGRAMS = 5
UNITS = ("iteration", "epoch", "evaluation", "layer", "run")   # the last component of every scalar tag
LOG10_FLOOR = -17.0    # log10 divergence written for exact agreement (float64 rounding is ~1e-16)
LOG10_CEILING = 3.0    # ... and for anything larger (a NaN or inf on one side only)
HPARAMS = "hparams"    # <experiment>/hparams/<metric>/run: the HParams metrics


def log10_divergence(value: float) -> float:
    """log10 of a relative divergence, within [LOG10_FLOOR, LOG10_CEILING]: 0 (exact agreement)
    gives the floor, NaN or inf the ceiling."""
    value = float(value)
    if not math.isfinite(value):
        return LOG10_CEILING
    if value <= 0:
        return LOG10_FLOOR
    return min(max(math.log10(value), LOG10_FLOOR), LOG10_CEILING)


def log10_cost_divergence(cost: float, reference: float) -> float:
    """log10(|cost - reference| / |reference|) (log10_divergence); equal costs, infinities
    included, are exact agreement."""
    if cost == reference:
        return LOG10_FLOOR
    return log10_divergence(abs(cost - reference) / max(abs(reference), 1e-300))


def metric_tag(experiment: str, metric: str) -> str:
    """The scalar tag of an HParams metric: <experiment>/hparams/<metric>/run."""
    return f"{experiment}/{HPARAMS}/{metric}/run"


def _regex(name: str) -> str:
    return name.replace(".", r"\.")   # names are letters, digits, '.', '_', '-' (runner.NAME)


def layout(experiment: str, variants) -> dict:
    """The custom-scalars layout of a run of ``experiment`` (torch's add_custom_scalars format
    {category: {chart title: ["Multiline", [regex, ...]]}}): category ``experiment``, and per
    variant (in the order of ``variants``, names) the cost chart of both sides, then the log10
    divergence chart beneath it. Every run of the experiment writes the whole layout: TensorBoard
    (2.x, custom_scalars_plugin.layout_impl) keeps a category's charts from the first run (in
    name order) that has it and drops what later runs add to it, except for the first run's own
    categories."""
    charts = {}
    for variant in variants:
        prefix = f"^{_regex(experiment)}/{_regex(variant)}"
        charts[f"{variant}: cost, NumPy and torch"] = ["Multiline", [f"{prefix}/cost/"]]
        charts[f"{variant}: divergence, log10 |NumPy - torch| / |NumPy|"] = ["Multiline", [f"{prefix}/divergence/"]]
    return {experiment: charts}


class Cadence:
    """Log step s of 0, ..., total - 1 when s is a multiple of ``every`` or the last one,
    with every = ceil(total / points): about ``points`` points whatever the run's length."""

    def __init__(self, total: int, points: int):
        self.total, self.every = total, max(1, math.ceil(total / points))

    def __call__(self, step: int) -> bool:
        return step % self.every == 0 or step == self.total - 1


def claim_root(logdir, experiment: str) -> Path:
    """Create and return logdir/<experiment>, or the first free <experiment>-2, -3, ...;
    creation is atomic (mkdir), so two runs never share a root."""
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        root = logdir / (experiment if n == 1 else f"{experiment}-{n}")
        try:
            root.mkdir()
            return root
        except FileExistsError:
            continue
    raise FileExistsError(f"{logdir}: no free run directory for {experiment!r} (tried {experiment}-2 .. -9999)")


def claim_file(path) -> Path:
    """Create and return ``path``, or the first free <stem>-2<suffix>, -3, ... beside it (empty;
    O_EXCL creation, so an existing file is never overwritten, even by a concurrent writer)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        candidate = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"{path}: no free name (tried {path.stem}-2{path.suffix} .. -9999)")


def check_writable(logdir) -> Path:
    """Create ``logdir`` if needed and write, fsync and remove a small probe file in it; a
    ValueError naming the directory and the reason (permission, a file in the way, a full
    disk) when that fails."""
    logdir = Path(logdir)
    probe = logdir / f".write-probe.{os.getpid()}"
    try:
        logdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            os.write(fd, b"twinprop write probe\n" * 200)   # a few kB: a full disk fails here or at fsync
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as error:
        reason = "the disk is full" if error.errno in (errno.ENOSPC, errno.EDQUOT) else error.strerror or str(error)
        raise ValueError(f"log directory {str(logdir)!r} is not writable ({reason}); choose another "
                         "with --logdir") from None
    return logdir


class RunLogger:
    """Writes one run's event file in ``run_dir`` = <root>/<variant>/<impl>, which must not exist
    yet (``resume``: which must exist; a new event file is added beside the old ones). Its tags
    start with <experiment>/<variant> (``experiment`` default: the root's name, ``variant``: the
    directory's parent's name)."""

    def __init__(self, run_dir, resume: bool = False, experiment: str | None = None, variant: str | None = None):
        run_dir = Path(run_dir)
        if resume and not run_dir.is_dir():
            raise FileNotFoundError(f"{run_dir} does not exist; nothing to resume")
        if not resume and run_dir.exists():
            raise FileExistsError(f"{run_dir} already exists; a run directory is never overwritten")
        self.run_dir = run_dir
        self.experiment = experiment or run_dir.parent.parent.name
        self.variant = variant or run_dir.parent.name
        self.prefix = f"{self.experiment}/{self.variant}"
        self.writer = SummaryWriter(log_dir=str(run_dir))

    def tag(self, quantity: str, unit: str) -> str:
        """<experiment>/<variant>/<quantity>/<unit>; ``unit`` one of UNITS."""
        if unit not in UNITS:
            raise ValueError(f"unit {unit!r} is not one of {UNITS}")
        return f"{self.prefix}/{quantity}/{unit}"

    def scalar(self, quantity: str, value: float, step: int, unit: str) -> None:
        self.writer.add_scalar(self.tag(quantity, unit), float(value), step)

    def scalars(self, quantity: str, values, start: int, cadence: Cadence, unit: str) -> None:
        """values[i] as step start + i, for the steps the cadence picks."""
        tag = self.tag(quantity, unit)
        for i, value in enumerate(values):
            if cadence(start + i):
                self.writer.add_scalar(tag, float(value), start + i)

    def histograms(self, params: dict, step: int, grads: dict | None = None) -> None:
        """A histogram of every weight matrix (keys starting with W or w) of ``params`` and, when
        given, of its gradient in ``grads`` (dW1, ...)."""
        for key, value in params.items():
            if key[0] in "Ww":
                self.writer.add_histogram(f"{self.prefix}/weights/{key}", np.asarray(value), step)
                if grads is not None and f"d{key}" in grads:
                    self.writer.add_histogram(f"{self.prefix}/gradients/d{key}", np.asarray(grads[f"d{key}"]), step)

    def figure(self, name: str, figure, step: int) -> None:
        self.writer.add_figure(f"{self.prefix}/{name}", figure, step, close=True)

    def text(self, name: str, markdown: str) -> None:
        self.writer.add_text(f"{self.prefix}/{name}", markdown, 0)

    def layout(self, variants) -> None:
        """The custom-scalars layout of this run's experiment with ``variants`` (layout)."""
        self.writer.add_custom_scalars(layout(self.experiment, variants))

    def hparams(self, hparams: dict, metrics: dict, columns: dict | None = None, metric_names=()) -> None:
        """This run's HParams summary, in the run itself: the session's ``hparams`` (values not
        bool, int, float or str as their str) and ``metrics`` {name: value}, each a scalar
        <experiment>/hparams/<name>/run at step 0. ``columns`` {hparam: a value of its type}
        and ``metric_names``: the experiment's columns (the experiment summary; default this
        run's), in their order."""
        def plain(v):
            return v if isinstance(v, (bool, int, float, str)) else str(v)

        values = {k: plain(v) for k, v in hparams.items()}
        tags = {metric_tag(self.experiment, k): float(v) for k, v in metrics.items()}
        columns = {k: plain(v) for k, v in (columns or values).items()}
        names = {metric_tag(self.experiment, k): 0.0 for k in (metric_names or metrics)}
        experiment, _, _ = hparams_summaries(columns, names)
        _, start, end = hparams_summaries(values, tags)
        for summary in (experiment, start, end):
            self.writer.file_writer.add_summary(summary)
        for tag, value in tags.items():
            self.writer.add_scalar(tag, value, 0)

    def close(self) -> None:
        self.writer.close()


def _hparams_order(rows: list) -> list:
    """The experiment's hyperparameter names: those whose values differ between its variants
    first, then the others, each group in declaration order."""
    names = list(dict.fromkeys(k for row in rows for k in row["hparams"]))
    differ = [k for k in names if len({repr(row["hparams"].get(k)) for row in rows}) > 1]
    return differ + [k for k in names if k not in differ]


def pair_metrics(row: dict, impl: str) -> dict:
    """The HParams metrics of ``impl``'s run of a variant (results.json's row): its metrics and,
    on the torch run of a pair, log10_cost_divergence and log10_params_divergence (of the cost
    trajectories and of the final parameters, relative, log10_divergence)."""
    metrics = dict(row["metrics"][impl])
    if impl == "torch":
        for kind in ("cost", "params"):
            if kind in row["divergence"]:
                metrics[f"log10_{kind}_divergence"] = log10_divergence(row["divergence"][kind])
    return metrics


def _log10(value) -> str:
    return "n/a" if value is None else f"10^{log10_divergence(value):.1f} ({value:.1e})"


def _cell(text) -> str:
    """``text`` as one cell of a markdown table (its '|' escaped)."""
    return str(text).replace("|", "\\|")


def result_card(result: dict, row: dict, claims: list) -> str:
    """The markdown result card of one variant (results.json's ``row`` of ``result``): ``claims``
    (the result's checked claims that read this variant) with their verdicts, the published
    figures against each side's value and the report's match, and the pair's divergence."""
    from . import report   # report imports the catalog, whose experiments import the runner and this
    impls = list(row["metrics"])
    lines = [f"**{result['experiment']} / {row['variant']}**: {result['claim']}", "",
             "hyperparameters: " + (", ".join(f"{k}={v}" for k, v in row["hparams"].items()) or "none"), ""]
    if claims:
        lines += ["| claim | verdict |", "|---|---|"]
        lines += [f"| {_cell(c['text'])} | {_cell(report._verdict(c, result))} |" for c in claims]
        lines.append("")
    if row["published"]:
        lines += [f"| metric | published | {' | '.join(impls)} | match |", "|---" * (3 + len(impls)) + "|"]
        for metric, text in row["published"].items():
            values = [report._value(row, metric, row["metrics"][impl].get(metric)) for impl in impls]
            match = report.figure_match(result, row, metric)[0]
            lines.append(" | ".join(["", metric, _cell(text), *map(_cell, values), match, ""]).strip())
        lines.append("")
    else:
        lines += ["published figures: none for this variant", ""]
    div = row["divergence"]
    if div:
        parted = div.get("parted_at")
        lines.append(f"divergence NumPy vs torch (relative, log10 floor {LOG10_FLOOR:g} = exact): cost trajectory "
                     f"{_log10(div.get('cost'))}, final parameters {_log10(div.get('params'))}"
                     + ("" if parted is None else f"; the costs part at iteration {parted}"))
        first = report.first_divergence(row)
        if first:
            lines.append(f"\n{first}")
    else:
        lines.append("divergence: one side only ran")
    return "\n".join(lines)


def write_summaries(experiment, root, result: dict) -> None:
    """The end of a run of ``experiment`` (an experiments.runner.Experiment) in ``root``, from
    its ``result``: in each variant's runs, their HParams summary (RunLogger.hparams: impl,
    experiment, variant, then the hyperparameters, those that differ between the variants
    first; the metrics pair_metrics) and the custom-scalars layout of the variants that ran (layout),
    and in its last run the result card, P/result. Each goes into a new event file beside the
    run's own."""
    rows = result["variants"]
    order = _hparams_order(rows)
    impls = list(result["devices"])
    columns = {"impl": "numpy", "experiment": experiment.name, "variant": "",
               **{k: next(row["hparams"][k] for row in rows if k in row["hparams"]) for k in order}}
    names = list(dict.fromkeys(k for row in rows for impl in row["metrics"] for k in pair_metrics(row, impl)))
    needs = {claim.text: claim.needs for claim in experiment.claims}
    # the variants in the layout: this result's, then any other in the root that holds runs (a
    # resumed trial's result holds its own variant only; the root's other runs keep their charts;
    # a folder without runs, such as a sweep's tune/, is no variant)
    ran = list(dict.fromkeys([*(row["variant"] for row in rows),
                              *sorted(d.name for d in Path(root).iterdir() if d.is_dir()
                                      and any(d.glob("*/events.out.tfevents.*")))]))
    for row in rows:
        for impl in row["metrics"]:
            logger = RunLogger(Path(root) / row["variant"] / impl, resume=True, experiment=experiment.name)
            try:
                hparams = {"impl": impl, "experiment": experiment.name, "variant": row["variant"],
                           **{k: row["hparams"][k] for k in order if k in row["hparams"]}}
                logger.hparams(hparams, pair_metrics(row, impl), columns, names)
                logger.layout(ran)
                if impl == impls[-1]:
                    claims = [c for c in result["claims"]   # those that read this variant (or none in particular)
                              if not needs.get(c["text"]) or row["variant"] in needs[c["text"]]]
                    logger.text("result", result_card(result, row, claims))
            finally:
                logger.close()

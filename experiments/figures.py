"""Figures a user can put in a report, drawn with matplotlib's Agg backend (no display needed).

    decision_boundaries(points, panels, grid)   the regions each side's own model predicts on one grid
                                                around the 2-D training points, side by side (NumPy |
                                                torch), same axes limits; each panel titled with the
                                                experiment, variant, side and its accuracies (train, and
                                                dev / test where the run has them); one class legend
    cost_curves(curves, title, unit)            the cost of every recorded iteration of both sides, one
                                                labelled line each (NumPy: wide, solid, pale; torch:
                                                thin, dashed, on top: both show when they overlap
                                                exactly), x axis in its unit
    signal_profiles(profiles, title, expected)  a network's per-layer signal norms at initialisation
                                                (activations ||A_(l-1)||, gradients ||dA_(l-1)||,
                                                weight gradients ||dW_l||) against the layer, log scale,
                                                one line per side (and the closed form where known)

Where they go (``publish``): each figure is written to TensorBoard (add_figure) in the variant's
last run (torch when both sides run), under the tag <experiment>/<variant>/figure/<name>, and saved
as a PNG beside the variant's runs, <logdir>/<experiment root>/<variant>/<name>.png, e.g.
runs/shallow_flower/tanh-4/decision_boundary.png (the root is <experiment>-2, -3, ... for later runs
of the same experiment into the same log directory, tblog.claim_root).

Who draws what: the trainers (experiments.trainers) leave on each side's Outcome what its figures
need (``attach``: its costs' unit and, on 2-D data, the regions its own model predicts on the
grid); the runner (runner.run_one) draws the pair's cost and decision-boundary figures from the two
Outcomes once the variant's last run has its final metrics (``pair_figures``), so the titles show
the accuracies the results hold. The vanishing/exploding experiment draws its signal profiles
itself (experiments.catalog.vanishing_exploding).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

GRID = 150          # decision-boundary grid points per axis
MARGIN = 0.5        # the grid's margin around the training points, in input units
DPI = 120           # of the PNG files
SIDE_NAMES = {"numpy": "NumPy", "torch": "torch"}
# NumPy wide, solid and pale beneath; torch thin and dashed on top: both visible when they coincide
LINE_STYLES = {"numpy": {"linestyle": "-", "linewidth": 3.0, "alpha": 0.55, "color": "tab:blue", "zorder": 2},
               "torch": {"linestyle": "--", "linewidth": 1.3, "alpha": 1.0, "color": "tab:red", "zorder": 3}}
CLASS_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink",
                 "tab:gray", "tab:olive", "tab:cyan")
CLASS_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
SPLITS = ("train", "dev", "test")   # the accuracies a title shows, metric <split>_accuracy, in this order
COST_UNITS = {"full_batch": "iteration (full batch: one per epoch)",
              "mini_batch": "iteration (one mini-batch update)"}


def side_name(impl: str) -> str:
    return SIDE_NAMES.get(impl, impl)


# --- where figures go ----------------------------------------------------------------------------

def tag(experiment: str, variant: str, name: str) -> str:
    """The TensorBoard tag of figure ``name``: <experiment>/<variant>/figure/<name>."""
    return f"{experiment}/{variant}/figure/{name}"


def png_path(run_dir, name: str) -> Path:
    """<variant directory>/<name>.png for a run directory <root>/<variant>/<impl>."""
    return Path(run_dir).parent / f"{name}.png"


def publish(logger, experiment: str, variant: str, name: str, figure: Figure, step: int) -> Path:
    """Save ``figure`` as png_path(logger.run_dir, name), then write it to TensorBoard under
    tag(experiment, variant, name) at ``step`` (which closes it); the PNG's path. The logger
    (tblog.RunLogger) prefixes its own <experiment>/<variant>: it gets figure/<name>."""
    path = png_path(logger.run_dir, name)
    figure.savefig(path, dpi=DPI)
    logger.figure(f"figure/{name}", figure, step)
    return path


# --- decision boundaries ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """The points of a GRID x GRID grid: ``xs`` (GRID,) along input 1, ``ys`` (GRID,) along input 2."""

    xs: np.ndarray
    ys: np.ndarray

    @classmethod
    def around(cls, X: np.ndarray, points: int = GRID) -> Grid:
        """The grid over the training points X (2, m) and MARGIN beyond."""
        X = np.asarray(X, dtype=np.float64)
        (x0, x1), (y0, y1) = [(row.min() - MARGIN, row.max() + MARGIN) for row in X]
        return cls(np.linspace(x0, x1, points), np.linspace(y0, y1, points))

    def points(self) -> np.ndarray:
        """(2, GRID * GRID), row-major over (ys, xs)."""
        gx, gy = np.meshgrid(self.xs, self.ys)
        return np.vstack([gx.ravel(), gy.ravel()])

    @property
    def extent(self) -> tuple:
        return (self.xs[0], self.xs[-1], self.ys[0], self.ys[-1])


def regions(predict, grid: Grid) -> np.ndarray:
    """The labels ``predict`` ((2, k) points -> k labels) gives the grid's points, (len(ys), len(xs)) int."""
    labels = np.asarray(predict(grid.points()), dtype=np.float64).ravel()
    return np.rint(labels).astype(np.int64).reshape(len(grid.ys), len(grid.xs))


def accuracy_text(metrics: dict) -> str:
    """'train 89.25 %, dev 85.00 %': the <split>_accuracy metrics there are (fractions), in percent."""
    shown = [f"{split} {100 * metrics[f'{split}_accuracy']:.2f} %" for split in SPLITS
             if f"{split}_accuracy" in metrics]
    return ", ".join(shown) if shown else "no accuracy"


def panel_title(experiment: str, variant: str, impl: str, metrics: dict) -> str:
    return f"{experiment} / {variant}: {side_name(impl)}\n{accuracy_text(metrics)}"


def decision_boundaries(points, panels: dict, grid: Grid) -> Figure:
    """One panel per side of ``panels`` {impl: (regions (len(ys), len(xs)), title)}, in its order
    (NumPy | torch): the regions shaded in their class's colour, the boundaries drawn, the training
    ``points`` (X (2, m), Y (1, m)) marked per class; same grid, axes limits and class colours on
    every panel, one legend of the classes below."""
    X, Y = (np.asarray(a) for a in points)
    labels = np.rint(np.asarray(Y, dtype=np.float64).ravel()).astype(np.int64)
    classes = np.unique(np.concatenate([labels, *[np.asarray(r).ravel() for r, _ in panels.values()]]))
    colours = [CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(len(classes))]
    cmap = ListedColormap(colours)
    figure = Figure(figsize=(4.6 * len(panels) + 0.4, 5.0))
    axes = figure.subplots(1, len(panels), sharex=True, sharey=True, squeeze=False)[0]
    for ax, (impl, (region, title)) in zip(axes, panels.items()):
        index = np.searchsorted(classes, np.asarray(region))   # class -> colour index
        ax.imshow(index, origin="lower", extent=grid.extent, cmap=cmap, vmin=-0.5, vmax=len(classes) - 0.5,
                  alpha=0.3, aspect="auto", interpolation="nearest")
        if len(classes) > 1:
            ax.contour(grid.xs, grid.ys, index, levels=np.arange(len(classes) - 1) + 0.5, colors="k",
                       linewidths=0.7)
        for k, label in enumerate(classes):
            chosen = labels == label
            ax.scatter(X[0, chosen], X[1, chosen], s=12, c=colours[k], marker=CLASS_MARKERS[k % len(CLASS_MARKERS)],
                       edgecolors="k", linewidths=0.3)
        ax.set(title=title, xlabel="x1", ylabel="x2", xlim=grid.extent[:2], ylim=grid.extent[2:])
        ax.title.set_fontsize(9)
    handles = [Line2D([], [], linestyle="", marker=CLASS_MARKERS[k % len(CLASS_MARKERS)], markersize=8,
                      markerfacecolor=colours[k], markeredgecolor="k", label=f"class {int(label)}")
               for k, label in enumerate(classes)]
    figure.legend(handles=handles, loc="lower center", ncol=len(classes), fontsize=8,
                  title="training points (marker) and predicted region (shade) of each class", title_fontsize=8)
    figure.tight_layout(rect=(0, 0.12, 1, 1))
    return figure


# --- cost curves -----------------------------------------------------------------------------------

def cost_curves(curves: dict, title: str, unit: str = "iteration") -> Figure:
    """Cost against ``unit``, one line per side of ``curves`` {impl: costs}, every recorded cost
    (costs[i] at x = i), labelled NumPy / torch; a log scale when the costs span more than two decades."""
    figure = Figure(figsize=(6, 4))
    ax = figure.add_subplot()
    for impl, costs in curves.items():
        costs = np.asarray(costs, dtype=np.float64)
        ax.plot(np.arange(len(costs)), costs, label=side_name(impl), **LINE_STYLES.get(impl, {}))
    values = np.concatenate([np.asarray(c, dtype=np.float64) for c in curves.values()])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size and values.max() > 100 * values.min():
        ax.set_yscale("log")
    ax.set(xlabel=unit, ylabel="cost", title=title)
    ax.legend()
    figure.tight_layout()
    return figure


# --- what the trainers leave, what the runner draws ------------------------------------------------

def attach(outcome, side, loop: str, step: int, reference=None) -> None:
    """Leave on ``outcome`` (as ``outcome.figure_data``) what the pair's figures need from this
    side: its costs' unit (``loop``: a key of COST_UNITS), the figures' step, and, on 2-D inputs,
    the training points and the regions this side's own model predicts on the grid (the NumPy
    run's grid when ``reference`` carries one, so both panels share it)."""
    data = {"unit": COST_UNITS[loop], "step": step}
    X = np.asarray(side.train.X)
    if X.shape[0] == 2:
        grid = getattr(reference, "figure_data", {}).get("grid") or Grid.around(X)
        data.update(grid=grid, regions=regions(side.predict, grid),
                    points=(X.astype(np.float64), np.asarray(side.train.Y, dtype=np.float64)))
    outcome.figure_data = data


def pair_figures(logger, experiment: str, variant: str, impl: str, outcome, reference=None) -> list:
    """The variant's figures, drawn in its last run (``impl``, ``outcome``) with the NumPy run's
    ``reference`` Outcome when both ran, from what ``attach`` left on each: cost_curve (both sides'
    costs) and, on 2-D data, decision_boundary (each side's own regions); published (PNG and
    TensorBoard). The PNGs' paths; none when the run left no figure data."""
    mine = getattr(outcome, "figure_data", None)
    if mine is None:
        return []
    runs = {**({"numpy": reference} if reference is not None and hasattr(reference, "figure_data") else {}),
            impl: outcome}
    name = f"{experiment} / {variant}"
    curves = {side: run.costs for side, run in runs.items() if run.costs}
    paths = []
    if curves:
        paths.append(publish(logger, experiment, variant, "cost_curve",
                             cost_curves(curves, f"{name}: cost", mine["unit"]), mine["step"]))
    drawn = {side: run for side, run in runs.items() if "regions" in run.figure_data}
    if impl in drawn:
        panels = {side: (run.figure_data["regions"], panel_title(experiment, variant, side, run.metrics))
                  for side, run in drawn.items()}
        figure = decision_boundaries(mine["points"], panels, mine["grid"])
        paths.append(publish(logger, experiment, variant, "decision_boundary", figure, mine["step"]))
    return paths


# --- signal profiles -------------------------------------------------------------------------------

SIGNALS = (("activations", "activations ||A_(l-1)||"), ("gradients", "gradients ||dA_(l-1)||"),
           ("weight_gradients", "weight gradients ||dW_l||"))


def signal_profiles(profiles: dict, title: str, expected=None) -> Figure:
    """One panel per signal of SIGNALS against the layer l = 1..L, log scale: one line per side of
    ``profiles`` {impl: signals (activations, gradients, weight_gradients; each (L,))}, and, where
    ``expected`` (the same three profiles, a closed form) is given, that as a dotted black line."""
    figure = Figure(figsize=(13, 4))
    axes = figure.subplots(1, len(SIGNALS))
    for ax, (field, label) in zip(axes, SIGNALS):
        for impl, signals in profiles.items():
            values = np.asarray(getattr(signals, field), dtype=np.float64)
            ax.plot(np.arange(1, len(values) + 1), values, label=side_name(impl), **LINE_STYLES.get(impl, {}))
        if expected is not None:
            values = np.asarray(expected[[f for f, _ in SIGNALS].index(field)], dtype=np.float64)
            ax.plot(np.arange(1, len(values) + 1), values, "k:", linewidth=1.2, label="closed form", zorder=4)
        ax.set_yscale("log")
        ax.set(xlabel="layer l", ylabel="norm (log scale)", title=label)
        ax.title.set_fontsize(10)
        ax.legend(fontsize=8)
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return figure

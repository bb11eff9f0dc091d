"""Figures for TensorBoard, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

GRID = 150          # decision-boundary grid points per axis
CURVE_POINTS = 2000  # points drawn per cost curve


def cost_curves(curves: dict, title: str) -> Figure:
    """Cost against iteration, one line per {label: costs} (at most CURVE_POINTS points each);
    a log scale when the costs span more than two decades."""
    figure = Figure(figsize=(5, 3.5))
    ax = figure.add_subplot()
    for (label, costs), style in zip(curves.items(), ("-", "--", ":")):
        step = -(-len(costs) // CURVE_POINTS)
        ax.plot(np.arange(len(costs))[::step], np.asarray(costs)[::step], style, label=label)
    values = np.concatenate([np.asarray(c, dtype=float) for c in curves.values()])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size and values.max() > 100 * values.min():
        ax.set_yscale("log")
    ax.set(xlabel="iteration", ylabel="cost", title=title)
    ax.legend()
    figure.tight_layout()
    return figure


def decision_boundary(predict, X: np.ndarray, Y: np.ndarray, title: str) -> Figure:
    """The regions ``predict`` assigns on a grid around 2-D points X (2, m), with the points
    coloured by their labels Y (1, m). ``predict`` maps (2, k) points to (k,) labels."""
    (x0, x1), (y0, y1) = [(row.min() - 0.5, row.max() + 0.5) for row in X]
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    regions = np.asarray(predict(np.vstack([gx.ravel(), gy.ravel()]))).reshape(gx.shape)
    figure = Figure(figsize=(4.5, 4))
    ax = figure.add_subplot()
    ax.contourf(gx, gy, regions, alpha=0.35, cmap="Spectral")
    ax.scatter(X[0], X[1], c=Y[0], s=8, cmap="Spectral", edgecolors="k", linewidths=0.2)
    ax.set(title=title, xlabel="x1", ylabel="x2")
    figure.tight_layout()
    return figure

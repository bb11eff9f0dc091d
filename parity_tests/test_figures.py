"""The figures a user puts in a report (experiments.figures), from real quick runs.

regularisation's "none" variant (2-D points, full batch, a train and a test split) and two
vanishing_exploding variants run --quick on the CPU, both sides, with spies on figures.publish
(every Figure object drawn, before TensorBoard closes it) and on runner.run_one (each side's
Outcome: its recorded costs). The figures are checked against what the run recorded by other
means: the accuracies in results.json, the costs of each side's Outcome, the metrics of the
signal profiles. A planted wrong model on one side changes that side's panel only.
"""

import re

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from tensorboard.backend.event_processing import event_accumulator as ea

from experiments import figures, runner, sides
from experiments.catalog import EXPERIMENTS
from experiments.runner import load_results, run_experiment
from experiments.settings import make_settings

IMPLS = ("numpy", "torch")
SIDE_NAMES = {"numpy": "NumPy", "torch": "torch"}
BOUNDARY = ("regularisation", "none")   # 2-D points with train and test splits
SIGNALS = ("vanishing_exploding", ("identity-1.5", "he-x0.5"))
PREDICTORS = {"numpy": sides.NumpyNet, "torch": sides.TorchNet}


def spied_run(tmp_path, name, variants, plant=None):
    """Run ``variants`` of experiment ``name`` quick on the CPU into tmp_path; ``plant``: the side
    whose model's predictions are replaced by a wrong model's (every label flipped). ({figure name:
    [(run_dir, Figure)]}, {(variant, impl): Outcome}, results.json's result, logdir)."""
    drawn, outcomes = {}, {}
    publish, run_one = figures.publish, runner.run_one

    def spy_publish(logger, experiment, variant, figure_name, figure, step):
        drawn.setdefault(figure_name, []).append((logger.run_dir, figure))
        return publish(logger, experiment, variant, figure_name, figure, step)

    def spy_run_one(experiment, settings, variant, impl, *args, **kwargs):
        ran = run_one(experiment, settings, variant, impl, *args, **kwargs)
        outcomes[variant.name, impl] = ran.outcome
        return ran

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "publish", spy_publish)
        patch.setattr(runner, "run_one", spy_run_one)
        if plant is not None:
            right = PREDICTORS[plant].predict
            patch.setattr(PREDICTORS[plant], "predict", lambda self, X: 1 - np.asarray(right(self, X)))
        settings = make_settings(logdir=tmp_path, quick=True, device="cpu")
        run_experiment(EXPERIMENTS[name], settings, list(variants))
    return drawn, outcomes, load_results(tmp_path)[name], tmp_path


@pytest.fixture(scope="module")
def boundary_run(tmp_path_factory):
    name, variant = BOUNDARY
    return spied_run(tmp_path_factory.mktemp("figures"), name, [variant])


@pytest.fixture(scope="module")
def signals_run(tmp_path_factory):
    name, variants = SIGNALS
    return spied_run(tmp_path_factory.mktemp("signals"), name, variants)


def metrics(result, variant):
    return next(row for row in result["variants"] if row["variant"] == variant)["metrics"]


def the_figure(drawn, name):
    assert len(drawn[name]) == 1, f"{name} drawn {len(drawn[name])} times"
    return drawn[name][0]


def region_images(figure) -> list:
    return [np.asarray(ax.images[0].get_array()) for ax in figure.axes if ax.images]


# --- where the figures go -------------------------------------------------------------------------

def test_the_pngs_sit_in_the_variant_directory_and_tensorboard_has_the_figures(boundary_run):
    drawn, _, _, logdir = boundary_run
    name, variant = BOUNDARY
    for figure_name in ("decision_boundary", "cost_curve"):
        run_dir, _ = the_figure(drawn, figure_name)
        png = logdir / name / variant / f"{figure_name}.png"
        assert run_dir == logdir / name / variant / "torch"   # drawn in the pair's last run
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    torch_run = ea.EventAccumulator(str(logdir / name / variant / "torch"), size_guidance={ea.IMAGES: 0})
    torch_run.Reload()
    assert {f"{name}/{variant}/figure/decision_boundary", f"{name}/{variant}/figure/cost_curve"} \
        <= set(torch_run.Tags()["images"])
    assert figures.tag(name, variant, "cost_curve") == f"{name}/{variant}/figure/cost_curve"


# --- decision boundaries ----------------------------------------------------------------------------

def test_decision_boundaries_show_both_sides_titled_with_their_own_accuracies(boundary_run):
    drawn, _, result, _ = boundary_run
    name, variant = BOUNDARY
    _, figure = the_figure(drawn, "decision_boundary")
    panels = [ax for ax in figure.axes if ax.images]
    assert len(panels) == 2
    recorded = metrics(result, variant)
    for ax, impl in zip(panels, IMPLS):   # NumPy | torch
        title = ax.get_title()
        assert name in title and variant in title and SIDE_NAMES[impl] in title
        assert SIDE_NAMES[next(i for i in IMPLS if i != impl)] not in title
        for split in ("train", "test"):   # both splits of this run, as results.json holds them
            shown = float(re.search(rf"{split} (\d+\.\d+) %", title).group(1))
            assert shown == pytest.approx(100 * recorded[impl][f"{split}_accuracy"], abs=0.005 + 1e-9)
    assert "dev" not in panels[0].get_title()
    # the same grid and axes on both panels
    assert panels[0].get_xlim() == panels[1].get_xlim() and panels[0].get_ylim() == panels[1].get_ylim()
    assert panels[0].images[0].get_extent() == panels[1].images[0].get_extent()
    assert region_images(figure)[0].shape == region_images(figure)[1].shape == (figures.GRID, figures.GRID)


def test_the_class_legend_lists_the_classes_in_their_region_colours(boundary_run):
    drawn, _, _, _ = boundary_run
    _, figure = the_figure(drawn, "decision_boundary")
    assert len(figure.legends) == 1
    legend = figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["class 0", "class 1"]
    image = next(ax for ax in figure.axes if ax.images).images[0]
    for k, handle in enumerate(legend.legend_handles):   # marker colour = the colour of class k's region
        np.testing.assert_allclose(np.asarray(image.cmap(k))[:3], to_rgba(handle.get_markerfacecolor())[:3])


@pytest.mark.parametrize("plant", IMPLS)
def test_each_panel_shows_the_regions_of_its_own_sides_model(boundary_run, tmp_path, plant):
    """A wrong model planted on one side (its predictions flipped) changes that side's panel,
    every grid point, and leaves the other side's panel as it was."""
    drawn, _, _, _ = boundary_run
    name, variant = BOUNDARY
    honest = dict(zip(IMPLS, region_images(the_figure(drawn, "decision_boundary")[1])))
    planted_drawn, _, _, _ = spied_run(tmp_path, name, [variant], plant=plant)
    planted = dict(zip(IMPLS, region_images(the_figure(planted_drawn, "decision_boundary")[1])))
    other = next(impl for impl in IMPLS if impl != plant)
    np.testing.assert_array_equal(planted[other], honest[other])
    assert np.all(planted[plant] != honest[plant])   # class indices 0/1 flipped everywhere


# --- cost curves ------------------------------------------------------------------------------------

def test_the_cost_figure_draws_each_sides_recorded_costs_labelled(boundary_run):
    drawn, outcomes, _, _ = boundary_run
    name, variant = BOUNDARY
    _, figure = the_figure(drawn, "cost_curve")
    (ax,) = figure.axes
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["NumPy", "torch"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["NumPy", "torch"]
    for line, impl in zip(lines, IMPLS):
        costs = outcomes[variant, impl].costs
        assert len(costs) > 10
        np.testing.assert_array_equal(line.get_ydata(), costs)
        np.testing.assert_array_equal(line.get_xdata(), np.arange(len(costs)))
    # both visible where they overlap exactly: different styles, the wider one beneath
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    assert lines[0].get_linewidth() > lines[1].get_linewidth() and lines[0].get_zorder() < lines[1].get_zorder()
    title = ax.get_title()
    assert name in title and variant in title and "(torch)" not in title
    assert ax.get_xlabel().startswith("iteration") and "epoch" in ax.get_xlabel()   # full batch: one per epoch


def test_a_mini_batch_run_titles_its_dev_split_dev_and_counts_mini_batch_iterations(tmp_path):
    """early_stopping holds out a dev split (the side's "test") and a test set: the titles show
    train, dev and test as results.json holds them; the cost figure's x axis counts mini-batches."""
    drawn, outcomes, result, _ = spied_run(tmp_path, "early_stopping", ["no-stopping"])
    recorded = metrics(result, "no-stopping")
    panels = [ax for ax in the_figure(drawn, "decision_boundary")[1].axes if ax.images]
    for ax, impl in zip(panels, IMPLS):
        title = ax.get_title()
        assert re.findall(r"(train|dev|test) \d+\.\d+ %", title) == ["train", "dev", "test"]
        for split in ("train", "dev", "test"):
            shown = float(re.search(rf"{split} (\d+\.\d+) %", title).group(1))
            assert shown == pytest.approx(100 * recorded[impl][f"{split}_accuracy"], abs=0.005 + 1e-9)
    (ax,) = the_figure(drawn, "cost_curve")[1].axes
    assert "mini-batch" in ax.get_xlabel()
    for line, impl in zip(ax.get_lines(), IMPLS):
        np.testing.assert_array_equal(line.get_ydata(), outcomes["no-stopping", impl].costs)


# --- the vanishing / exploding signals ------------------------------------------------------------

def test_the_signal_profiles_draw_one_line_per_side_per_variant_on_log_axes(signals_run):
    drawn, _, result, logdir = signals_run
    name, variants = SIGNALS
    profiles = {run_dir.parent.name: figure for run_dir, figure in drawn["signal_profile"]}
    assert sorted(profiles) == sorted(variants)
    for variant, figure in profiles.items():
        assert (logdir / name / variant / "signal_profile.png").is_file()
        assert name in figure._suptitle.get_text() and variant in figure._suptitle.get_text()
        assert len(figure.axes) == 3
        recorded = metrics(result, variant)
        for ax in figure.axes:
            assert ax.get_yscale() == "log" and ax.get_xlabel() == "layer l"
            sides_drawn = [line for line in ax.get_lines() if line.get_label() in ("NumPy", "torch")]
            assert [line.get_label() for line in sides_drawn] == ["NumPy", "torch"]
            for line in sides_drawn:
                np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 31))
                assert np.all(np.asarray(line.get_ydata()) > 0)
        gradients = {line.get_label(): np.asarray(line.get_ydata()) for line in figure.axes[1].get_lines()}
        for impl in IMPLS:   # the gradient panel's lines give each side's recorded ratio ||dA_0|| / ||dA_(L-1)||
            g = gradients[SIDE_NAMES[impl]]
            assert g[0] / g[-1] == pytest.approx(recorded[impl]["grad_ratio"], rel=1e-12)
        closed_form = [line for line in figure.axes[1].get_lines() if line.get_label() == "closed form"]
        assert len(closed_form) == (1 if variant.startswith("identity") else 0)

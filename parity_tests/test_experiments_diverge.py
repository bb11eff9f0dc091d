"""Kept states and ``python -m experiments diverge``: a real experiment run keeps its checkpoints
as states/<step>.h5 on both sides, the report says where the sides part, and ``diverge`` names a
step and element planted into one side's kept states (exit 1), says "never part" for the real
pair (exit 0) and turns bad input into one "error:" line (exit 2); a run interrupted and resumed
keeps the states an uninterrupted one keeps, and a run whose trials keep none says so in the report."""

import contextlib
import io
import json
import shutil

import h5py
import numpy as np
import pytest
import torch

from experiments import checkpoint, cli, report
from experiments.checkpoint_format import Snapshot, seal
from experiments.pairing import locate_divergence
from experiments.settings import make_settings
from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch.logistic import LogisticRegression

RUN = ["run", "bias_variance", "--quick", "--variant", "n-3", "--device", "cpu", "--checkpoint-every", "5",
       "--keep-states"]
EPOCHS = 100   # bias_variance's quick budget: one full-batch Adam step an epoch


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(logdir, the run's printed report, numpy run dir, torch run dir, exit status) of one quick
    run with kept states."""
    logdir, printed = tmp_path_factory.mktemp("runs"), io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli.main([*RUN, "--logdir", str(logdir)])
    variant = logdir / "bias_variance" / "n-3"
    return logdir, printed.getvalue(), variant / "numpy", variant / "torch", status


def _plant(run_dir, into, name: str, index: tuple, from_step: int):
    """Copy ``run_dir`` to ``into`` with params/<name>[index] of every kept state from ``from_step``
    on multiplied by 1 + 1e-4, each file resealed (so it passes the checksums)."""
    shutil.copytree(run_dir, into)
    for path in (into / checkpoint.STATES).glob("*.h5"):
        if int(path.stem) >= from_step:
            with h5py.File(path, "r+") as f:
                value = f["params"][name][()]
                value[index] *= 1 + 1e-4
                f["params"][name][...] = value
                seal(f)
    return into


def test_a_run_with_kept_states_keeps_each_checkpoint_and_reports_the_pair(pair):
    logdir, printed, numpy_dir, torch_dir, status = pair
    assert status == 0
    for run_dir in (numpy_dir, torch_dir):
        kept = checkpoint.KeptStates(run_dir)
        assert kept.steps == list(range(5, EPOCHS + 1, 5))
        last = kept.snapshot(EPOCHS)
        assert last.iteration == EPOCHS and last.config["settings"]["keep_states"] is True
        # the kept last state is the checkpoint itself, bit for bit
        final = checkpoint.load(run_dir / checkpoint.FILE_NAME)
        assert all(np.array_equal(final.params[k], v) for k, v in last.params.items())
    first = json.loads((logdir / "results.json").read_text())["bias_variance"]["variants"][0]["divergence"]["first"]
    assert (first["first_out"], first["last_within"]) == (None, EPOCHS)
    assert f"n-3: NumPy and torch never part: agree to {first['agreement']:.1e} through step 100" in printed
    assert first["agreement"] < 1e-13


def test_diverge_says_never_part_with_exit_0(pair, capsys):
    _, _, numpy_dir, torch_dir, _ = pair
    assert cli.main(["diverge", str(numpy_dir), str(torch_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{numpy_dir} vs {torch_dir}: never part: agree to ") and "float64" in out


def test_diverge_names_the_planted_step_and_element_with_exit_1(pair, tmp_path, capsys):
    _, _, numpy_dir, torch_dir, _ = pair
    planted = _plant(numpy_dir, tmp_path / "numpy", "W2", (1, 2), 50)
    assert cli.main(["diverge", str(planted), str(torch_dir)]) == 1
    out = capsys.readouterr().out
    assert "until step 45; by step 50, the next saved, W2[1, 2] parts: " in out
    record = locate_divergence(planted, torch_dir)
    assert (record.last_within, record.first_out, record.element) == (45, 50, "W2[1, 2]")
    assert record.relative == pytest.approx(1e-4 / (1 + 1e-4), rel=1e-6)
    assert len(record.loaded) <= 7   # both ends and log2(20) bisections, of 20 kept states
    line = report.first_divergence({"variant": "n-3", "divergence": {"first": record.as_dict()}})
    # the values in the order the sides are named: the planted NumPy value, then torch's, read from the files
    planted_value, torch_value = (checkpoint.load(run / checkpoint.STATES / "50.h5").params[key][1, 2]
                                  for run, key in ((planted, "W2"), (torch_dir, "linears.1.weight")))
    assert line.startswith("n-3: NumPy and torch agree to ") and "until step 45; by step 50" in line
    assert f"W2[1, 2] parts: {float(planted_value)!r} vs {float(torch_value)!r} " in line


def test_diverge_on_bad_input_is_one_error_line_with_exit_2(pair, tmp_path, capsys):
    _, _, numpy_dir, torch_dir, _ = pair
    damaged = tmp_path / "damaged"
    shutil.copytree(numpy_dir, damaged)
    state = damaged / checkpoint.STATES / "100.h5"   # the last: read first
    data = bytearray(state.read_bytes())
    data[len(data) // 2] ^= 0xFF
    state.write_bytes(bytes(data))
    (tmp_path / "bare").mkdir()
    cases = {str(tmp_path / "missing"): "no such run directory",
             str(tmp_path / "bare"): "no kept states",
             str(damaged): "100.h5"}
    for run_a, problem in cases.items():
        assert cli.main(["diverge", run_a, str(torch_dir)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and problem in err and "Traceback" not in err and err.count("\n") == 1
    other = tmp_path / "other"   # stands for another variant's run: another model
    shutil.copytree(numpy_dir, other)
    with h5py.File(other / checkpoint.STATES / "100.h5", "r+") as f:
        del f["params"]["W1"]
        f["params"].create_dataset("W1", data=np.ones((1, 2)))
        seal(f)
    assert cli.main(["diverge", str(other), str(torch_dir)]) == 2
    assert "W1 is (1, 2) in one trajectory, (3, 2) in the other" in capsys.readouterr().err
    assert cli.main(["diverge", str(numpy_dir), str(torch_dir), "--dtype", "float16"]) == 2
    assert "--dtype" in capsys.readouterr().err
    assert cli.main(["diverge", str(numpy_dir), str(torch_dir), "--dtype", "float32"]) == 2
    assert "hold float64" in capsys.readouterr().err


def _randomised(module):
    """``module`` with every float entry of its state_dict drawn anew (no zeros, no symmetry to hide a transpose)."""
    with torch.no_grad():
        for tensor in module.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.rand_like(tensor))
    return module


def test_torch_states_take_the_course_names_the_bridge_gives():
    model = _randomised(t_models.Network((3, 4, 2, 1), "relu", "sigmoid", batch_norm=True, dtype=torch.float64))
    snapshot = Snapshot("torch", checkpoint.module_arrays(model), {}, None, {}, {})
    expected = {**bridge.params_from_module(model), **bridge.state_from_module(model)}
    got = checkpoint.course_arrays(snapshot)
    assert got.keys() == expected.keys() and all(np.array_equal(got[k], expected[k]) for k in expected)
    logistic = _randomised(LogisticRegression(5, dtype=torch.float64))
    w, b = bridge.logistic_from_module(logistic)
    got = checkpoint.course_arrays(Snapshot("torch", checkpoint.module_arrays(logistic), {}, None, {}, {}))
    assert np.array_equal(got["w"], w) and got["b"].shape == () and got["b"] == b
    with pytest.raises(checkpoint.CheckpointError, match="'extra.weight' has no course name"):
        checkpoint.course_arrays(Snapshot("torch", {"extra.weight": np.ones(2)}, {}, None, {}, {}))


def test_keep_states_needs_checkpoints():
    with pytest.raises(ValueError, match="--keep-states keeps the checkpoints"):
        make_settings(keep_states=True, checkpoint_every=0)


def test_the_report_says_when_the_sides_kept_no_states(tmp_path, capsys):
    """early_stopping's trainer takes no checkpoints: with --keep-states the report says the parting
    is not located, and why, instead of leaving the line out."""
    argv = ["run", "early_stopping", "--quick", "--device", "cpu", "--keep-states", "--logdir", str(tmp_path)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    for variant in ("no-stopping", "patience-20"):
        assert (f"{variant}: where NumPy and torch part is not located: no states kept by numpy and torch "
                "(no checkpoint saved)") in printed
        assert not (tmp_path / "early_stopping" / variant / "numpy" / checkpoint.STATES).exists()
    row = {"variant": "v", "divergence": {"unkept": ["torch"]}}
    assert report.first_divergence(row) == "v: where NumPy and torch part is not located: no states kept by torch " \
                                           "(no checkpoint saved)"


def test_a_resumed_run_keeps_the_states_an_uninterrupted_one_keeps(pair, tmp_path, monkeypatch, capsys):
    """Ctrl-C after the kept state of step 50 (the next epoch's end saves step 51 and stops), then
    --resume: the states kept before and after the interruption are those of the uninterrupted run,
    bit for bit, plus the one the interruption saved; diverge against torch finds no parting."""
    _, _, numpy_dir, torch_dir, _ = pair
    save = checkpoint.save

    def save_then_interrupt(path, snapshot):
        saved = save(path, snapshot)
        if path.name == "50.h5":
            checkpoint._SIGINT.requested = True
        return saved

    monkeypatch.setattr(checkpoint, "save", save_then_interrupt)
    assert cli.main([*RUN, "--impl", "numpy", "--logdir", str(tmp_path)]) == cli.INTERRUPTED
    monkeypatch.setattr(checkpoint, "save", save)
    run_dir = tmp_path / "bias_variance" / "n-3" / "numpy"
    assert checkpoint.KeptStates(run_dir).steps == [*range(5, 51, 5), 51]
    assert cli.main(["run", "--resume", str(run_dir)]) == 0
    resumed, uninterrupted = checkpoint.KeptStates(run_dir), checkpoint.KeptStates(numpy_dir)
    assert resumed.steps == sorted([*uninterrupted.steps, 51])
    for step in uninterrupted.steps:
        ours, theirs = resumed.state_at(step), uninterrupted.state_at(step)
        assert ours.keys() == theirs.keys() and all(np.array_equal(ours[k], theirs[k]) for k in theirs), step
    capsys.readouterr()
    assert cli.main(["diverge", str(run_dir), str(torch_dir)]) == 0
    assert "never part" in capsys.readouterr().out

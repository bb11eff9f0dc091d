"""Checkpoints and resuming (experiments.checkpoint, the training loops' ``resume``/``checkpoint``).

- in process: a run stopped after a random epoch and resumed from its checkpoint ends with the
  very same parameters, optimiser state and History as the uninterrupted run (np.array_equal,
  float64, CPU), on each side, for stateful optimisers and epoch/iteration schedules;
- through the command line in subprocesses: ``run`` killed with SIGKILL at a seeded random epoch,
  then ``run --resume``, ends bit for bit where an uninterrupted run ends, on each side, its whole
  last checkpoint (RNG states included) too; Ctrl-C (SIGINT) saves, exits with 130 and says how
  to resume;
- a corrupt (truncated, random bytes, one flipped bit: every dataset and attribute carries a
  sha256), incompatible (shapes, optimiser, dtype, format version) or missing checkpoint is a
  CheckpointError naming the file, never a fresh start; files older than the checksums are
  refused; on ``run --resume`` each is one "error:" line, status 2, before anything is written;
- a crash in the middle of a write leaves the previous checkpoint intact.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import torch

from experiments import checkpoint, checkpoint_format, cli, datasets, sides, trainers
from experiments.checkpoint import CheckpointError, Checkpointer, Interrupted
from experiments.runner import Variant
from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from reference_torch import training as t_training
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import training as n_training

REPO = Path(__file__).resolve().parents[1]
LAYERS, EPOCHS, BATCH = (3, 5, 1), 9, 8
RUNS = {   # optimiser, its hyperparameters, schedule, keep probability (dropout: the RNG states matter)
    "adam-inverse_sqrt_step": ("adam", {}, {"name": "inverse_sqrt_step"}, None),
    "momentum-inverse_time": ("momentum", {"beta": 0.9}, {"name": "inverse_time", "decay_rate": 0.5}, None),
    "nesterov": ("cs231n_momentum", {"nesterov": True}, None, None),
    "rmsprop-l2": ("rmsprop", {"l2_lambda": 0.3, "m": 44}, None, None),
    "adam-dropout": ("adam", {}, None, 0.7),
}


class Stop(Exception):
    """Stands for a crash after an epoch's updates, before its checkpoint."""


def _data(dtype="float64"):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 44)).astype(dtype)
    return X, (X[:1] - X[2:3] > 0).astype(np.int64)


def _train(side, path, run, *, stop_after=None, resume=False, layers=LAYERS, dtype="float64"):
    """Train ``run`` (a RUNS key) on ``side``, checkpointing to ``path`` after every epoch; raise
    Stop after epoch ``stop_after``'s updates; ``resume``: from ``path``. Returns (params in the
    NumPy layout, History, optimiser state in scratch_numpy's names)."""
    name, hp, schedule, keep = RUNS[run]
    keep_probs = keep and (keep,) * (len(layers) - 2)
    X, Y = _data(dtype)
    net = n_models.Network(layers, "tanh", "sigmoid", keep_probs=keep_probs, dropout_rng=keep and 7)
    params = net.init_params("xavier", 1, dtype)
    torch.manual_seed(11)   # torch's dropout masks come from its global generator
    ckpt = Checkpointer(path, every=1, epochs=EPOCHS, config={"run": run},
                        resume_from=checkpoint.load(path) if resume else None)

    def callback(epoch, history, _):
        if epoch + 1 == stop_after:
            raise Stop

    loop = {"epochs": EPOCHS, "batch_size": BATCH, "seed": 5, "schedule": schedule, "callback": callback}
    try:
        if side == "numpy":
            opt = n_optim.make_optimizer(name, params, lr=0.05, **hp)
            history = n_training.train(net, params, X, Y, opt, **ckpt.attach_numpy(net, params, opt), **loop)
            return params, history, opt.state
        model = t_models.Network(layers, "tanh", "sigmoid", dtype=bridge.resolve_dtype(dtype), keep_probs=keep_probs)
        bridge.params_to_module(params, model)
        opt = t_optim.make_optimizer(name, model, lr=0.05, **hp)
        Xt, yt = bridge.data_to_torch(X, Y)
        history = t_training.train(model, Xt, yt, opt, **ckpt.attach_torch(model, opt), **loop)
        return bridge.params_from_module(model), history, t_optim.optimizer_state(opt, model)
    finally:
        ckpt.close()


def _assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            _assert_same_state(a[key], b[key])
        else:
            assert np.array_equal(a[key], b[key]), key


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("side", ["numpy", "torch"])
def test_stopped_and_resumed_in_process_is_bitwise_the_uninterrupted_run(tmp_path, side, run):
    stop_after = random.Random(f"{side}-{run}").randrange(2, EPOCHS)   # a seeded random epoch (one checkpoint at least)
    params, history, state = _train(side, tmp_path / "full.h5", run)
    with pytest.raises(Stop):
        _train(side, tmp_path / "cut.h5", run, stop_after=stop_after)
    assert checkpoint.load(tmp_path / "cut.h5").epoch == stop_after - 1
    resumed, resumed_history, resumed_state = _train(side, tmp_path / "cut.h5", run, resume=True)
    for key in params:
        assert np.array_equal(params[key], resumed[key]), key
    assert resumed_history == history   # costs, rates, accuracies: every float equal
    _assert_same_state(state, resumed_state)
    assert checkpoint.load(tmp_path / "cut.h5").epoch == EPOCHS


# --- through the command line: SIGKILL, Ctrl-C ------------------------------------------------------

RUN = ["optimisers", "--quick", "--variant", "adam", "--device", "cpu"]   # Adam: moments and t; 300 epochs
EVERY = 10   # the checkpoint cadence of the reference and of the killed runs (it is in their config)


def _cli(*argv):
    return [sys.executable, "-m", "experiments", *map(str, argv)]


def _final(run_dir: Path, epochs: int = 300) -> dict:
    """The params and history of a finished run's last checkpoint (after ``epochs``)."""
    snapshot = checkpoint.load(run_dir / checkpoint.FILE_NAME)
    assert snapshot.epoch == epochs
    return {"params": snapshot.params, "costs": snapshot.resume.history.costs}


def whole_checkpoint(path: Path) -> dict:
    """Everything the checkpoint at ``path`` holds, {"<object>@<attribute>": value, "<dataset>":
    (dtype, shape, bytes)}, for a bitwise comparison of two runs of one seed: only what must differ
    is left out (``created``, the time of writing, with its checksum, and the paths in the config)."""
    out = {}
    with h5py.File(path, "r") as f:
        for obj in [f, *(f[name] for name in _names(f))]:
            if isinstance(obj, h5py.Dataset):
                out[obj.name] = (obj.dtype.str, obj.shape, obj[()].tobytes())
            out.update({f"{obj.name}@{name}": value for name, value in obj.attrs.items()})
    del out["/@created"]
    config, checksums = json.loads(out["/@config"]), json.loads(out["/@checksums"])
    del config["settings"]["logdir"], config["settings"]["data_dir"], checksums["attrs"]["created"]
    del checksums["attrs"]["config"]
    out["/@config"], out["/@checksums"] = config, checksums
    return out


def assert_same_checkpoint(a: Path, b: Path) -> None:
    """The checkpoints at ``a`` and ``b`` hold the same members, each bit for bit (whole_checkpoint)."""
    ours, theirs = whole_checkpoint(a), whole_checkpoint(b)
    assert ours.keys() == theirs.keys()
    assert any(key.startswith("/rng") for key in ours)
    for key, value in theirs.items():
        assert ours[key] == value, key


def _metrics(logdir: Path, impl: str, experiment: str = "optimisers") -> dict:
    result = json.loads((logdir / "results.json").read_text())[experiment]
    return result["variants"][0]["metrics"][impl]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """{impl: its log directory}: an uninterrupted run of each side (the killed runs' very command,
    so their whole checkpoints compare; checkpoints every EVERY epochs, the last one final), the
    two at once."""
    logdirs = {impl: tmp_path_factory.mktemp(f"reference-{impl}") for impl in ("numpy", "torch")}
    procs = [subprocess.Popen(_cli("run", *RUN, "--impl", impl, "--logdir", logdir, "--checkpoint-every", EVERY),
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for impl, logdir in logdirs.items()]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    return logdirs


def _saved_epoch(path: Path) -> int:
    """The epoch of the checkpoint at ``path`` now, -1 when there is none yet (it appears whole:
    os.replace)."""
    try:
        with h5py.File(path, "r") as f:
            return int(f.attrs["epoch"])
    except (OSError, KeyError):
        return -1


def _start_and_wait(logdir: Path, impl: str, until_epoch: int, every: int) -> tuple:
    """A run in a subprocess, returned (process, checkpoint path) once its checkpoint reached
    ``until_epoch``."""
    proc = subprocess.Popen(_cli("run", *RUN, "--impl", impl, "--logdir", logdir, "--checkpoint-every", every),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    path = logdir / "optimisers" / "adam" / impl / checkpoint.FILE_NAME
    deadline = time.monotonic() + 120
    while _saved_epoch(path) < until_epoch:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run ended or stalled before epoch {until_epoch}: {proc.communicate()[1][-2000:]}")
        time.sleep(0.002)
    return proc, path


def _resume(run_dir: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(_cli("run", "--resume", run_dir), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.parametrize("impl", ["numpy", "torch"])
def test_sigkill_at_a_random_epoch_then_resume_ends_bitwise_equal(reference, tmp_path, impl):
    kill_at = random.Random(f"sigkill-{impl}").randrange(10, 200)   # seeded: the same epoch every run
    proc, path = _start_and_wait(tmp_path, impl, kill_at, every=EVERY)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    killed_at = checkpoint.load(path).epoch
    assert kill_at <= killed_at < 300
    print(f"\n{impl}: killed with the checkpoint at epoch {killed_at} (aimed at >= {kill_at})")
    events = {p: p.read_bytes() for p in path.parent.glob("events.out.tfevents.*")}
    _resume(path.parent)
    assert all(p.read_bytes() == data for p, data in events.items())   # the logged part is kept ...
    # ... and continued in a new file, then the end-of-run summaries in another (tblog.write_summaries)
    assert len(list(path.parent.glob("events.out.tfevents.*"))) == len(events) + 2
    resumed = json.loads((tmp_path / "results.json").read_text())["optimisers"]["resumed_from"]
    assert resumed == {"checkpoint": str(path), "epoch": killed_at}
    ours, theirs = _final(path.parent), _final(reference[impl] / "optimisers" / "adam" / impl)
    for key, value in theirs["params"].items():
        assert value.dtype == np.float64 and np.array_equal(ours["params"][key], value), key
    assert ours["costs"] == theirs["costs"]
    assert _metrics(tmp_path, impl) == _metrics(reference[impl], impl)
    assert_same_checkpoint(path, reference[impl] / "optimisers" / "adam" / impl / checkpoint.FILE_NAME)


def test_ctrl_c_saves_a_checkpoint_and_exits_130(reference, tmp_path):
    proc, path = _start_and_wait(tmp_path, "numpy", 20, every=20)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert f"checkpoint saved to {path}" in err and f"python -m experiments run --resume {path.parent}" in err
    assert "Traceback" not in err
    assert 20 <= checkpoint.load(path).epoch < 300
    _resume(path.parent)
    for key, value in _final(reference["numpy"] / "optimisers" / "adam" / "numpy")["params"].items():
        assert np.array_equal(_final(path.parent)["params"][key], value), key


# --- corrupt, incompatible, missing --------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    """A NumPy Adam checkpoint stopped after epoch 4, and its path."""
    path = tmp_path / "checkpoint.h5"
    with pytest.raises(Stop):
        _train("numpy", path, "adam-inverse_sqrt_step", stop_after=5)
    return path


def _edit(path: Path, change, seal: bool = True):
    """Apply ``change`` to the file at ``path`` and, with ``seal``, stamp its checksums again: a
    file intact by its checksums that the checks behind them must refuse."""
    with h5py.File(path, "r+") as f:
        change(f)
        if seal:
            checkpoint.seal(f)


def _replace(f, name, data=None, **kwargs):
    del f[name]
    f.create_dataset(name, data=data, **kwargs)


@pytest.mark.parametrize(("spoil", "problem"), [
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "not a readable HDF5 file"),
    (lambda p: p.write_bytes(np.random.default_rng(0).bytes(p.stat().st_size)), "not a readable HDF5 file"),
    (lambda p: p.unlink(), "file not found"),
    (lambda p: _edit(p, lambda f: f.attrs.modify("format_version", 4)),
     "format version 4, this Twinprop reads version 3"),
    (lambda p: _edit(p, lambda f: f.attrs.modify("trainer", np.bytes_(b"other"))), "trainer must be one of"),
    (lambda p: _edit(p, lambda f: f.attrs.modify("format", np.bytes_(b"other"))), "not a Twinprop checkpoint"),
    (lambda p: _edit(p, lambda f: f.__delitem__("history")), "missing group 'history'"),
    (lambda p: _edit(p, lambda f: _replace(f, "params/W1", ["a", "b"], dtype=h5py.string_dtype())),
     "'/params/W1' has dtype object; only numbers"),
    (lambda p: _edit(p, lambda f: _replace(f, "params/W1", shape=(10**9, 10**3), dtype="f8", chunks=(1, 10),
                                            maxshape=(None, 10**3)), seal=False),   # sealing would read 8 TB
     r"declares shape \(1000000000, 1000\)"),
    (lambda p: _edit(p, lambda f: f.__setitem__("params/W9", h5py.ExternalLink("/etc/passwd", "/"))),
     "/params/W9 is a ExternalLink"),
    (lambda p: _edit(p, lambda f: f.attrs.modify("config", np.bytes_(b"{not json"))), "'config' on / is not JSON"),
    (lambda p: _edit(p, lambda f: f.attrs.modify("epoch", 7)), "epoch = 7 but the history holds 4"),
])
def test_a_corrupt_checkpoint_is_a_clear_error(saved, spoil, problem):
    spoil(saved)
    with pytest.raises(CheckpointError, match=problem) as error:
        checkpoint.load(saved)
    assert str(error.value).startswith(str(saved))


@pytest.mark.parametrize(("change", "problem"), [
    (lambda f: _replace(f, "params/W1", np.zeros((5, 4))), r"parameter 'W1' is float64 \(5, 4\) in the file, "
                                                           r"float64 \(5, 3\) in this run"),
    (lambda f: _replace(f, "optimizer/state/v/dW1", np.zeros((5, 3), np.float32)), "optimiser state 'v/dW1'"),
    (lambda f: f.attrs.modify("impl", np.bytes_(b"torch")), "it was written by the torch side"),
    (lambda f: f["params/b1"].__setitem__((0, 0), np.nan), "parameter 'b1' holds NaN or inf"),
    (lambda f: f["optimizer"].attrs.modify("class", np.bytes_(b"SGD")), "the optimiser is SGD in the file, Adam here"),
    (lambda f: f["optimizer"].attrs.modify("t", np.bytes_(b"99")), "the optimiser's step count t=99 does not fit"),
])
def test_an_incompatible_checkpoint_is_a_clear_error(saved, change, problem):
    _edit(saved, change)
    snapshot = checkpoint.load(saved)
    net = n_models.Network(LAYERS, "tanh", "sigmoid")
    params = net.init_params("xavier", 1, "float64")
    before = {k: v.copy() for k, v in params.items()}
    opt = n_optim.make_optimizer("adam", params, lr=0.05)
    with pytest.raises(CheckpointError, match=f"incompatible with this run: {problem}"):
        checkpoint.restore_numpy(snapshot, net, params, opt)
    assert all(np.array_equal(params[k], before[k]) for k in params) and opt.t == 0   # nothing half-restored


@pytest.mark.parametrize(("kwargs", "problem"), [
    ({"layers": (3, 6, 1)}, r"parameter 'W1' is float64 \(5, 3\) in the file, float64 \(6, 3\)"),
    ({"dtype": "float32"}, r"parameter 'W1' is float64 \(5, 3\) in the file, float32 \(5, 3\)"),
])
def test_other_layer_sizes_or_dtype_are_a_clear_error(saved, kwargs, problem):
    with pytest.raises(CheckpointError, match=problem):
        _train("numpy", saved, "adam-inverse_sqrt_step", resume=True, **kwargs)


def test_another_optimiser_or_side_is_a_clear_error(saved, tmp_path):
    with pytest.raises(CheckpointError, match="the optimiser is Adam in the file, RMSprop here"):
        _train("numpy", saved, "rmsprop-l2", resume=True)
    with pytest.raises(CheckpointError, match="written by the numpy side, this is the torch side"):
        _train("torch", saved, "adam-inverse_sqrt_step", resume=True)
    with pytest.raises(Stop):
        _train("torch", tmp_path / "t.h5", "adam-inverse_sqrt_step", stop_after=3)
    with pytest.raises(CheckpointError, match=r"parameter 'linears.0.weight' is float64 \(5, 3\) in the file, "
                                              r"float64 \(6, 3\) in this run"):
        _train("torch", tmp_path / "t.h5", "adam-inverse_sqrt_step", resume=True, layers=(3, 6, 1))


def test_resume_of_a_bad_checkpoint_on_the_command_line_is_one_error_line(tmp_path):
    run_dir = tmp_path / "optimisers" / "adam" / "numpy"
    run_dir.mkdir(parents=True)
    (run_dir / checkpoint.FILE_NAME).write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    done = subprocess.run(_cli("run", "--resume", run_dir), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"error: {run_dir / checkpoint.FILE_NAME}: not a readable HDF5 file")
    assert len(done.stderr.strip().splitlines()) == 1


FULL_RUN = ["initialisation", "--quick", "--variant", "he", "--device", "cpu"]   # full-batch, 1500 iterations
PARAM = {"numpy": "params/W1", "torch": "params/linears.0.weight"}
STATE = {"numpy": "optimizer/state/v/dW1", "torch": "optimizer/state/0/exp_avg"}


@pytest.fixture(scope="module")
def full_batch_reference(tmp_path_factory):
    """An uninterrupted full-batch run on both sides, its last checkpoint final."""
    logdir = tmp_path_factory.mktemp("full_batch_reference")
    done = subprocess.run(_cli("run", *FULL_RUN, "--logdir", logdir, "--checkpoint-every", 500), cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return logdir


def _flip(path: Path, dataset: str, byte: int, mask: int) -> None:
    """XOR byte ``byte`` of ``dataset``'s first element with ``mask``, in the file's own bytes (a
    bit flipped on the disk: h5py is only asked where the dataset's data starts)."""
    with h5py.File(path, "r") as f:
        offset = f[dataset].id.get_offset() + byte
    _edit_bytes(path, offset, bytes([path.read_bytes()[offset] ^ mask]))


def _flip_attribute(path: Path, obj: str, name: str) -> None:
    """Flip the lowest bit of the middle character of the text attribute ``name`` of ``obj``."""
    def flip(f):
        text = bytearray(f[obj].attrs[name])
        text[len(text) // 2] ^= 1
        f[obj].attrs.modify(name, np.bytes_(bytes(text)))
    _edit(path, flip, seal=False)


def _reshaped(f, name):
    _replace(f, name, np.zeros((f[name].shape[0], f[name].shape[1] + 1)))


def _random_bytes(f, name):
    f[name][...] = np.frombuffer(np.random.default_rng(1).bytes(f[name].size), np.uint8)


MINI, TORCH_MINI = {"mini_batch"}, {("mini_batch", "torch")}
RNG_REFUSED = b'{"generator": "Generator", "state": {"bit_generator": "PCG64", "state": 1}}'
# name: (where it applies: trainers or (trainer, impl) pairs, None: everywhere; spoil(path, impl);
#        what the error line must say, given impl)
CORRUPTIONS = {
    "truncated": (None, lambda p, impl: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
                  lambda impl: "not a readable HDF5 file"),
    "superblock overwritten": (None, lambda p, impl: _edit_bytes(p, 0, bytes(64)),
                               lambda impl: "not a readable HDF5 file"),
    "another shape": (None, lambda p, impl: _edit(p, lambda f: _reshaped(f, PARAM[impl]), seal=False),
                      lambda impl: f"/{PARAM[impl]} has no checksums"),
    "another shape, resealed": (None, lambda p, impl: _edit(p, lambda f: _reshaped(f, PARAM[impl])),
                                lambda impl: f"incompatible with this run: parameter '{PARAM[impl][7:]}' is float64"),
    "float32": (None, lambda p, impl: _edit(p, lambda f: _as_float32(f, PARAM[impl]), seal=False),
                lambda impl: f"/{PARAM[impl]} has no checksums"),
    "float32, resealed": (None, lambda p, impl: _edit(p, lambda f: _as_float32(f, PARAM[impl])),
                          lambda impl: f"incompatible with this run: parameter '{PARAM[impl][7:]}' is float32"),
    "random torch rng": (TORCH_MINI, lambda p, impl: _edit(p, lambda f: _random_bytes(f, "rng/torch"), seal=False),
                         lambda impl: "dataset '/rng/torch' does not match its sha256 checksum"),
    "random torch rng, resealed": (TORCH_MINI, lambda p, impl: _edit(p, lambda f: _random_bytes(f, "rng/torch")),
                                   lambda impl: "rng/torch is not a state torch's generator accepts"),
    "a parameter's byte": (None, lambda p, impl: _flip(p, PARAM[impl], 7, 0xFF),   # huge, inf or NaN
                           lambda impl: f"dataset '/{PARAM[impl]}' does not match its sha256 checksum"),
    "an optimiser state's mantissa bit": (MINI, lambda p, impl: _flip(p, STATE[impl], 2, 0x40),   # x (1 + 2^-30)
                                          lambda impl: f"dataset '/{STATE[impl]}' does not match its sha256 checksum"),
    "a history bit": (None, lambda p, impl: _flip(p, "history/costs", 0, 1),
                      lambda impl: "dataset '/history/costs' does not match its sha256 checksum"),
    "a config bit": (None, lambda p, impl: _flip_attribute(p, "/", "config"),
                     lambda impl: "attribute 'config' on / does not match its sha256 checksum"),
    "a numpy rng bit": (None, lambda p, impl: _flip_attribute(p, "rng", "numpy"),
                        lambda impl: "attribute 'numpy' on /rng does not match its sha256 checksum"),
    "a numpy rng state numpy refuses, resealed": (
        None, lambda p, impl: _edit(p, lambda f: f["rng"].attrs.__setitem__("numpy", np.bytes_(RNG_REFUSED))),
        lambda impl: "attribute 'numpy' on /rng: the numpy generator state is malformed"),
    "a missing group": (None, lambda p, impl: _edit(p, lambda f: f.__delitem__("optimizer"), seal=False),
                        lambda impl: "/ does not hold the members it was written with: missing ['optimizer']"),
}


def _edit_bytes(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def _as_float32(f, name):
    _replace(f, name, f[name][()].astype(np.float32))


def _files(root: Path) -> dict:
    return {p: p.read_bytes() if p.is_file() else None for p in root.rglob("*")}


@pytest.mark.parametrize(("trainer", "impl", "corruption"), [
    (trainer, impl, name) for trainer in ("mini_batch", "full_batch") for impl in ("numpy", "torch")
    for name, (where, _, _) in CORRUPTIONS.items() if where is None or trainer in where or (trainer, impl) in where])
def test_every_corrupt_checkpoint_is_one_error_line_on_resume_and_writes_nothing(
        reference, full_batch_reference, tmp_path, capsys, trainer, impl, corruption):
    """``run --resume`` of each class of damage (and of an intact file that does not fit its run:
    "resealed"), on both sides of both trainers: status 2, one "error:" line naming the file and
    the dataset or attribute, no traceback, and not one byte written under the log directory."""
    source, run = (reference[impl], ("optimisers", "adam")) if trainer == "mini_batch" else \
        (full_batch_reference, ("initialisation", "he"))
    logdir = tmp_path / "logdir"
    shutil.copytree(source, logdir)
    run_dir = logdir.joinpath(*run, impl)
    path = run_dir / checkpoint.FILE_NAME
    _, spoil, says = CORRUPTIONS[corruption]
    spoil(path, impl)
    before = _files(logdir)
    capsys.readouterr()
    assert cli.main(["run", "--resume", str(run_dir)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {path}: ") and says(impl) in err, err
    assert _files(logdir) == before


# --- atomic writes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("crash", ["mid-write", "before-rename"])
def test_a_crash_mid_write_leaves_the_previous_checkpoint_intact(saved, monkeypatch, crash):
    before = saved.read_bytes()
    snapshot = checkpoint.load(saved)
    snapshot.resume.history.epochs_run += 1   # something else to write

    def half_written(f, s):
        f.create_group("params")
        raise OSError("simulated crash: the disk went away")

    def no_rename(src, dst):
        raise OSError("simulated crash before the rename")

    if crash == "mid-write":
        monkeypatch.setattr(checkpoint_format, "_write", half_written)
    else:
        monkeypatch.setattr(checkpoint_format.os, "replace", no_rename)
    with pytest.raises(OSError, match="simulated crash"):
        checkpoint.save(saved, snapshot)
    assert saved.read_bytes() == before and checkpoint.load(saved).epoch == 4
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]   # no temporary file left behind


# --- full-batch runs (experiments.trainers.full_batch): networks, dropout by iteration, logistic -------

FB_ITERATIONS, FB_LR, FB_EVERY = 200, 0.05, 30   # chunks of 10 (MIN_CHUNK): checkpoints at 30, 60, ... boundaries
FB_RUNS = {   # NetSpec (None: logistic regression), whether the masks change with the iteration
    "he": sides.NetSpec((3, 6, 4, 1), "relu", "sigmoid"),
    "dropout": sides.NetSpec((3, 8, 5, 1), "relu", "sigmoid", keep_probs=(0.8, 0.7)),
    "batch_norm-l2": sides.NetSpec((3, 6, 4, 1), "relu", "sigmoid", l2_lambda=0.3, batch_norm=True),
    "logistic": None,
}


class _Quiet:
    """A logger or progress bar that records nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _fb_side(impl: str, run: str, dtype="float64"):
    """A fresh side of FB_RUNS[run] on ``impl`` (CPU), the data of _data() split 30 / 14."""
    X, Y = _data(dtype)
    data = datasets.Dataset("toy", datasets.Split(X[:, :30], Y[:, :30]), datasets.Split(X[:, 30:], Y[:, 30:]),
                            "test data")
    trial = SimpleNamespace(settings=SimpleNamespace(dtype=dtype, seed=0), impl=impl, device="cpu")
    spec = FB_RUNS[run]
    if spec is None:
        return sides.logistic(trial, data)
    masks = None
    if spec.keep_probs:   # other masks at every iteration: a resume must pick up the right ones
        masks = lambda i: sides.course_dropout_masks(spec, data.train.m, 100 + i, dtype)   # noqa: E731
    return sides.network(trial, spec, spec.init_params("he", np.random.RandomState(3), dtype), data, masks)


def _full_batch(impl, run, ckpt=None, stop_after_chunk=None, sigint_at_chunk=None):
    """(final parameters in the NumPy layout, costs) of trainers.full_batch on a fresh side, with
    the Checkpointer ``ckpt``; Stop raised at the start of chunk ``stop_after_chunk`` (1-based),
    a SIGINT sent during chunk ``sigint_at_chunk``."""
    side, calls = _fb_side(impl, run), []
    gd = side.gd

    def counted(k, lr):
        calls.append(k)
        if len(calls) == stop_after_chunk:
            raise Stop
        if len(calls) == sigint_at_chunk:
            os.kill(os.getpid(), signal.SIGINT)
        return gd(k, lr)

    side.gd = counted
    trial = SimpleNamespace(logger=_Quiet(), progress=_Quiet(), reference=None, last_of_variant=False,
                            checkpoint=ckpt, variant=Variant("v"))
    try:
        outcome = trainers.full_batch(trial, side, lr=FB_LR, iterations=FB_ITERATIONS)
    finally:
        if ckpt is not None:
            ckpt.close()
    return outcome.params, outcome.costs


def _fb_checkpointer(path, resume=False):
    return Checkpointer(path, every=FB_EVERY, epochs=None, config={"run": "full-batch"},
                        resume_from=checkpoint.load(path) if resume else None)


@pytest.mark.parametrize("run", FB_RUNS)
@pytest.mark.parametrize("impl", ["numpy", "torch"])
def test_full_batch_stopped_and_resumed_in_process_is_bitwise_the_uninterrupted_run(tmp_path, impl, run):
    params, costs = _full_batch(impl, run)   # no checkpoints at all: saving does not perturb the run either
    chunks = FB_ITERATIONS // trainers.MIN_CHUNK
    for stop in sorted(random.Random(f"fb-{impl}-{run}").sample(range(5, chunks + 1), 3)):   # >= one checkpoint
        path = tmp_path / f"stop{stop}.h5"
        with pytest.raises(Stop):
            _full_batch(impl, run, _fb_checkpointer(path), stop_after_chunk=stop)
        saved = checkpoint.load(path)
        assert saved.trainer == "full_batch" and saved.iteration == (stop - 1) * 10 // FB_EVERY * FB_EVERY
        assert saved.resume.history.costs == costs[:saved.iteration]
        resumed, resumed_costs = _full_batch(impl, run, _fb_checkpointer(path, resume=True))
        assert resumed.keys() == params.keys()
        for key in params:
            assert resumed[key].dtype == np.float64 and np.array_equal(resumed[key], params[key]), (stop, key)
        assert resumed_costs == costs
        assert checkpoint.load(path).iteration == FB_ITERATIONS   # the last chunk is always saved


@pytest.mark.parametrize("run", FB_RUNS)
@pytest.mark.parametrize("impl", ["numpy", "torch"])
def test_full_batch_chunks_do_not_change_the_trajectory(impl, run):
    whole, steps = _fb_side(impl, run), _fb_side(impl, run)
    costs = whole.gd(37, FB_LR)
    assert [c for _ in range(37) for c in steps.gd(1, FB_LR)] == costs
    for key, value in whole.state().items():
        assert np.array_equal(steps.state()[key], value), key


@pytest.fixture
def full_batch_saved(tmp_path):
    """A NumPy full-batch checkpoint of FB_RUNS["he"] (iteration 30), and its path."""
    path = tmp_path / "full_batch.h5"
    with pytest.raises(Stop):
        _full_batch("numpy", "he", _fb_checkpointer(path), stop_after_chunk=5)
    return path


def test_a_mini_batch_and_a_full_batch_checkpoint_do_not_resume_each_other(saved, full_batch_saved, tmp_path):
    with pytest.raises(CheckpointError, match="incompatible with this run: it was written by a mini-batch run, "
                                              "this is a full-batch run"):
        _full_batch("numpy", "he", _fb_checkpointer(saved, resume=True))
    with pytest.raises(CheckpointError, match="incompatible with this run: it was written by a full-batch run, "
                                              "this is a mini-batch run"):
        _train("numpy", full_batch_saved, "adam-inverse_sqrt_step", resume=True)


@pytest.mark.parametrize(("impl", "run", "change", "problem"), [
    ("numpy", "batch_norm-l2", None, r"parameter names differ"),
    ("torch", "he", None, "it was written by the numpy side, this is the torch side"),
    ("numpy", "dropout", None, r"parameter 'W1' is float64 \(6, 3\) in the file, float64 \(8, 3\) in this run"),
    ("numpy", "he", lambda f: f["optimizer"].attrs.modify("lr", np.bytes_(b"0.5")),
     "the learning rate is 0.5 in the file, 0.05 in this run"),
])
def test_an_incompatible_full_batch_checkpoint_is_a_clear_error(full_batch_saved, impl, run, change, problem):
    if change:
        _edit(full_batch_saved, change)
    side = _fb_side(impl, run)
    before = side.state()
    with pytest.raises(CheckpointError, match=f"incompatible with this run: {problem}"):
        checkpoint.restore_full_batch(checkpoint.load(full_batch_saved), side, FB_LR, FB_ITERATIONS)
    assert all(np.array_equal(value, side.state()[key]) for key, value in before.items())   # untouched


@pytest.mark.parametrize("version", [1, 2])
def test_a_checkpoint_older_than_its_checksums_is_refused_saying_so(saved, version):
    """Files of versions 1 and 2 carry no checksums: refused (not read unverified), with the way on."""
    def as_old(f):
        f.attrs.modify("format_version", version)
        for obj in [f, *(f[name] for name in _names(f))]:
            del obj.attrs[checkpoint.CHECKSUMS]
    _edit(saved, as_old, seal=False)
    with pytest.raises(CheckpointError, match=f"^{saved}: format version {version} predates integrity checks "
                                              r"\(checksums, format version 3\): .* start the run again"):
        checkpoint.load(saved)


def _names(f: h5py.File) -> list:
    names = []
    f.visit(names.append)
    return names


def test_full_batch_ctrl_c_finishes_the_chunk_saves_and_resumes_bitwise(tmp_path):
    params, costs = _full_batch("torch", "dropout")
    path = tmp_path / "ctrl_c.h5"
    with checkpoint.sigint_saves(), pytest.raises(Interrupted) as stopped:
        _full_batch("torch", "dropout", _fb_checkpointer(path), sigint_at_chunk=7)
    assert (stopped.value.epoch, stopped.value.epochs, stopped.value.unit) == (70, FB_ITERATIONS, "iteration")
    assert checkpoint.load(path).iteration == 70   # the chunk in progress was finished, then saved
    resumed, resumed_costs = _full_batch("torch", "dropout", _fb_checkpointer(path, resume=True))
    assert all(np.array_equal(resumed[k], params[k]) for k in params) and resumed_costs == costs


FB_RUN = ["batchnorm", "--quick", "--variant", "batchnorm", "--device", "cpu"]   # 250 iterations, chunks of 10
FB_DIR = ("batchnorm", "batchnorm")   # <logdir>/<experiment>/<variant>


def test_full_batch_sigkill_at_a_random_iteration_then_resume_ends_bitwise_equal(tmp_path):
    """A deep batch-norm network (running statistics in the checkpoint) on both sides at once,
    each killed once its checkpoint reaches a seeded random iteration and resumed; the
    uninterrupted runs go in process meanwhile (through the same cli.main)."""
    popen = {"cwd": REPO, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    runs = {}
    for impl in ("numpy", "torch"):
        proc = subprocess.Popen(_cli("run", *FB_RUN, "--impl", impl, "--logdir", tmp_path / impl,
                                     "--checkpoint-every", 20), **popen)
        path = tmp_path.joinpath(impl, *FB_DIR, impl, checkpoint.FILE_NAME)
        runs[impl] = proc, path, random.Random(f"fb-sigkill-{impl}").randrange(20, 220)
    deadline, alive = time.monotonic() + 120, set(runs)
    while alive:
        for impl in sorted(alive):
            proc, path, kill_at = runs[impl]
            if _saved_epoch(path) >= kill_at:
                proc.send_signal(signal.SIGKILL)
                proc.communicate()
                alive.discard(impl)
            elif proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{impl}: the run ended or stalled before iteration {kill_at}: "
                            f"{proc.communicate()[1][-2000:]}")
        time.sleep(0.003)
    resumes = {}
    for impl, (proc, path, kill_at) in runs.items():
        assert proc.returncode == -signal.SIGKILL
        killed_at = checkpoint.load(path).iteration
        assert kill_at <= killed_at < 250
        print(f"\n{impl}: killed with the checkpoint at iteration {killed_at} (aimed at >= {kill_at})")
        resumes[impl] = subprocess.Popen(_cli("run", "--resume", path.parent), **popen)
    for impl in runs:   # the killed runs' very command, so their whole checkpoints compare
        assert cli.main(["run", *FB_RUN, "--impl", impl, "--logdir", str(tmp_path / "reference" / impl),
                         "--checkpoint-every", "20"]) == 0
    for impl, proc in resumes.items():
        assert proc.wait(timeout=300) == 0, proc.communicate()[1][-3000:]
        reference = tmp_path / "reference" / impl
        ours, theirs = (_final(logdir.joinpath(*FB_DIR, impl), 250) for logdir in (tmp_path / impl, reference))
        assert any("running_mean" in key for key in theirs["params"])
        for key, value in theirs["params"].items():   # floats in float64; torch's num_batches_tracked an int64
            assert value.dtype in (np.float64, np.int64) and np.array_equal(ours["params"][key], value), (impl, key)
        assert ours["costs"] == theirs["costs"]
        assert _metrics(tmp_path / impl, impl, "batchnorm") == _metrics(reference, impl, "batchnorm")
        assert_same_checkpoint(*(logdir.joinpath(*FB_DIR, impl, checkpoint.FILE_NAME)
                                 for logdir in (tmp_path / impl, reference)))

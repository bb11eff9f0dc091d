"""Checkpoints of a training run in HDF5: written atomically, read as untrusted files.

What a checkpoint holds (FORMAT_VERSION 2; h5py, NumPy arrays and JSON text, no pickle):

    / attrs            format "twinprop-checkpoint", format_version, impl ("numpy" or "torch"),
                       trainer ("mini_batch": scratch_numpy/reference_torch training.train;
                       "full_batch": the sides' gd, experiments.trainers.full_batch),
                       epoch (epochs completed), iteration (updates done), created (UTC, ISO 8601),
                       libraries (JSON {python, numpy, torch, h5py}), config (JSON: the
                       experiment, variant, hparams, impl and settings of the run)
    /params/<name>     the model in its side's own layout: NumPy {W1 (n1, n0), b1 (n1, 1), ...,
                       and batch norm's running statistics as running_mean1 (n1, 1), ...};
                       torch model.state_dict() {linears.0.weight (n1, n0), linears.0.bias (n1,),
                       ..., buffers included}; NumPy logistic regression {w (n_x, 1), b ()}
    /optimizer attrs   kind ("numpy" or "torch"), class (e.g. "Adam"), and
                         numpy: hyperparameters (JSON, lr excluded), lr, initial_lr, t;
                         torch: param_groups (JSON: state_dict()["param_groups"]);
                         full_batch: class "GD" and lr only (plain gradient descent keeps no state)
    /optimizer/state   numpy: <v or s>/<dW1, db1, ...> (the parameters' shapes and dtype);
                       torch: <parameter index>/<exp_avg, exp_avg_sq, momentum_buffer, step, ...>;
                       full_batch: empty
    /history/<field>   costs, learning_rates (one per update), epoch_costs, train_accuracy,
                       dev_accuracy (one per epoch): float64 (n,); attrs epochs_run, stopped_early
                       (full_batch: one iteration is one epoch, so epoch_costs are the costs and
                       the accuracies are empty)
    / attrs scheduler  JSON: the torch side's LambdaLR state_dict (the schedule's position), or null
                       (the NumPy side's rates are closed forms of the epoch and update counts)
    /rng               attrs numpy: JSON bit_generator state of the network's dropout generator, or
                       null; datasets torch (uint8, torch.get_rng_state()) and, on CUDA, cuda
                       (full_batch: null and none; its dropout masks are a function of the iteration)

Version 1 files (written before full-batch runs were checkpointed) have no ``trainer`` and are
read as "mini_batch". The mini-batch order is not in the file: it is the run's given
permutations, or the same seed's draws again, so the resumed run replays the very same batches.

Writing (``save``): to a temporary file in the checkpoint's folder, flushed and fsynced, then
os.replace onto the checkpoint (and the folder fsynced): a crash at any point leaves either the
previous checkpoint or the new one, never a torn file. Reading (``load``, then ``restore_numpy`` /
``restore_torch``): every problem is a CheckpointError (a ValueError) naming the file: missing,
not HDF5 or truncated, another format or version, missing members, links or storage outside the
file, object/vlen/compound dtypes, declared sizes above the limits (checked before reading), and,
against the run being resumed, the other trainer, other parameter names, shapes, dtypes, optimiser
class or hyperparameters (the rate, for full-batch runs). A run is never silently started afresh.

``Checkpointer`` connects this to the experiments: a training loop's per-epoch hook (mini-batch)
or per-chunk hook (full-batch) that saves every ``every`` epochs (full-batch: iterations, at the
first chunk boundary at or past each multiple), at the last one and when Ctrl-C was pressed
(``sigint_saves``), then raises Interrupted.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from scratch_numpy.training import History, Resume

from .datasets import check_declared, member, open_hdf5, read_declared
from .settings import library_versions

FORMAT = "twinprop-checkpoint"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)   # version 1: mini-batch only, no trainer attribute
TRAINERS = ("mini_batch", "full_batch")
GD = "GD"                    # the optimiser class recorded for full-batch gradient descent
FILE_NAME = "checkpoint.h5"
MAX_TEXT_BYTES = 1 << 20     # one JSON attribute
MAX_MEMBERS = 10_000         # datasets in one group
HISTORY_FIELDS = ("costs", "learning_rates", "epoch_costs", "train_accuracy", "dev_accuracy")
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")   # what a numpy state may name
DEFAULT_CHECKPOINTS = 10     # per run, when --checkpoint-every is not given


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt or does not fit the run being resumed."""


class Interrupted(Exception):
    """Ctrl-C during training: the checkpoint ``path`` was saved after ``epoch`` of ``epochs``
    (``unit``: "epoch", or "iteration" in a full-batch run)."""

    def __init__(self, path: Path, epoch: int, epochs, unit: str = "epoch"):
        super().__init__(f"interrupted after {unit} {epoch} of {epochs}; checkpoint saved to {path}")
        self.path, self.epoch, self.epochs, self.unit = path, epoch, epochs, unit


@dataclass
class Snapshot:
    """Everything in one checkpoint (see the module docstring for the layout). ``optimizer``:
    {"kind", "class", "attrs": {...}, "state": {"<group>/<name>": array}}; ``rng``: {"numpy":
    JSON-able state or None, "torch": uint8 array or None, "cuda": uint8 array or None};
    ``source``: the file it was read from (for messages); ``trainer``: one of TRAINERS."""

    impl: str
    params: dict
    optimizer: dict
    resume: Resume
    rng: dict
    config: dict
    source: Path | None = None
    trainer: str = "mini_batch"

    @property
    def epoch(self) -> int:
        return self.resume.history.epochs_run

    @property
    def iteration(self) -> int:
        return len(self.resume.history.costs)


# --- capture and restore: one side's live objects <-> a Snapshot -------------------------------------


def network_arrays(network, params: dict) -> dict:
    """A NumPy network's /params: copies of its parameters and batch norm's running statistics."""
    return {k: np.array(v) for k, v in {**params, **network.state}.items()}


def load_network_arrays(network, params: dict, arrays: dict) -> None:
    """Copy checked /params ``arrays`` into a NumPy network's ``params`` and ``network.state``."""
    for key, value in arrays.items():
        np.copyto(params[key] if key in params else network.state[key], value)


def module_arrays(model) -> dict:
    """A torch module's /params: copies of its state_dict (parameters and buffers) as arrays."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def load_module_arrays(model, arrays: dict) -> None:
    """Load checked /params ``arrays`` into a torch module (on its device)."""
    with torch.no_grad():
        model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})


def capture_numpy(network, params: dict, optimizer, resume: Resume, config: dict) -> Snapshot:
    """A Snapshot of a NumPy run (scratch_numpy.models.Network, its params, a scratch_numpy.optim
    Optimizer) after the epoch that ``resume`` continues from; arrays are copied."""
    arrays = network_arrays(network, params)
    state = {f"{name}/{key}": np.array(value) for name in optimizer.state_names
             for key, value in getattr(optimizer, name).items()}
    hp = {k: v for k, v in optimizer.hyperparameters().items() if k != "lr"}
    attrs = {"hyperparameters": hp, "lr": float(optimizer.lr), "initial_lr": float(optimizer.initial_lr),
             "t": int(optimizer.t)}
    rng = {"numpy": _numpy_rng_state(network.dropout_rng), "torch": None, "cuda": None}
    return Snapshot("numpy", arrays, {"kind": "numpy", "class": type(optimizer).__name__, "attrs": attrs,
                                      "state": state}, resume, rng, config)


def capture_torch(model, optimizer: torch.optim.Optimizer, resume: Resume, config: dict) -> Snapshot:
    """A Snapshot of a torch run (model, torch.optim optimiser, the LambdaLR state in ``resume``)."""
    arrays = module_arrays(model)
    saved = optimizer.state_dict()
    state = {f"{index}/{name}": value.detach().cpu().numpy().copy()
             for index, entries in saved["state"].items() for name, value in entries.items()
             if isinstance(value, torch.Tensor)}
    device = next(model.parameters()).device
    rng = {"numpy": None, "torch": torch.get_rng_state().numpy().copy(),
           "cuda": torch.cuda.get_rng_state(device).numpy().copy() if device.type == "cuda" else None}
    return Snapshot("torch", arrays, {"kind": "torch", "class": type(optimizer).__name__,
                                      "attrs": {"param_groups": saved["param_groups"]}, "state": state},
                    resume, rng, config)


def capture_full_batch(side, lr: float, costs: list, config: dict) -> Snapshot:
    """A Snapshot of a full-batch run (an experiments.sides side: ``impl``, ``state()``) after
    len(costs) iterations of gradient descent at rate ``lr``."""
    n = len(costs)
    history = History(costs=list(costs), learning_rates=[float(lr)] * n, epoch_costs=list(costs), epochs_run=n)
    return Snapshot(side.impl, side.state(), {"kind": side.impl, "class": GD, "attrs": {"lr": float(lr)}, "state": {}},
                    Resume(history, None), {"numpy": None, "torch": None, "cuda": None}, config, trainer="full_batch")


def restore_full_batch(snapshot: Snapshot, side, lr: float, iterations: int) -> list:
    """Check ``snapshot`` against this full-batch run (``side`` at rate ``lr`` for ``iterations``),
    load it into the side (``load_state``) and return the costs so far."""
    fail = _failer(snapshot)
    _check_kind(snapshot, "full_batch", side.impl, GD, fail)
    _check_arrays(fail, "parameter", snapshot.params, side.state())
    saved_lr = _float(fail, "lr", snapshot.optimizer["attrs"].get("lr"))
    if saved_lr != lr:
        fail(f"the learning rate is {saved_lr} in the file, {lr} in this run")
    if snapshot.iteration > iterations:
        fail(f"it holds {snapshot.iteration} iterations, this run has {iterations}")
    # everything is checked: only now is the run changed
    side.load_state(snapshot.params, snapshot.iteration)
    return list(snapshot.resume.history.costs)


def restore_numpy(snapshot: Snapshot, network, params: dict, optimizer) -> Resume:
    """Check ``snapshot`` against this NumPy run, copy it into ``params``, ``network.state``,
    ``optimizer`` and the dropout generator, and return the Resume for training.train."""
    fail = _failer(snapshot)
    _check_kind(snapshot, "mini_batch", "numpy", type(optimizer).__name__, fail)
    _check_arrays(fail, "parameter", snapshot.params, {**params, **network.state})
    opt = snapshot.optimizer
    hp = {k: v for k, v in optimizer.hyperparameters().items() if k != "lr"}
    lr0 = opt["attrs"].get("initial_lr")
    if _plain(opt["attrs"].get("hyperparameters")) != _plain(hp) or lr0 != optimizer.initial_lr:
        fail(f"the optimiser's hyperparameters differ: the file has lr0={lr0} "
             f"{opt['attrs'].get('hyperparameters')}, this run lr0={optimizer.initial_lr} {hp}")
    expected = {f"{name}/{key}": value for name in optimizer.state_names
                for key, value in getattr(optimizer, name).items()}
    _check_arrays(fail, "optimiser state", opt["state"], expected)
    t = opt["attrs"].get("t")
    if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t <= snapshot.iteration:
        fail(f"the optimiser's step count t={t!r} does not fit {snapshot.iteration} updates")
    lr = _float(fail, "lr", opt["attrs"].get("lr"))
    rng = None if snapshot.rng["numpy"] is None else _numpy_rng(fail, snapshot.rng["numpy"])
    # everything is checked: only now is the run changed
    load_network_arrays(network, params, snapshot.params)
    for key, value in opt["state"].items():
        np.copyto(expected[key], value)
    optimizer.t, optimizer.lr = t, lr
    if rng is not None:
        network.dropout_rng = rng
    return snapshot.resume


def restore_torch(snapshot: Snapshot, model, optimizer: torch.optim.Optimizer) -> Resume:
    """Check ``snapshot`` against this torch run, load it into ``model``, ``optimizer`` and torch's
    generators, and return the Resume (with the LambdaLR state) for training.train."""
    fail = _failer(snapshot)
    _check_kind(snapshot, "mini_batch", "torch", type(optimizer).__name__, fail)
    live = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    _check_arrays(fail, "parameter", snapshot.params, live)
    fresh = optimizer.state_dict()
    groups = snapshot.optimizer["attrs"].get("param_groups")
    if not isinstance(groups, list) or len(groups) != len(fresh["param_groups"]) or not all(
            isinstance(g, dict) for g in groups):
        fail(f"the optimiser has {len(fresh['param_groups'])} parameter groups, the file {groups!r:.200}")
    loose = ("lr", "initial_lr")   # what a schedule changes
    for i, (ours, theirs) in enumerate(zip(fresh["param_groups"], groups)):
        a = _plain({k: v for k, v in ours.items() if k not in loose})
        b = {k: v for k, v in theirs.items() if k not in loose}
        if a != b:
            fail(f"the optimiser's parameter group {i} differs: the file has {b}, this run {a}")
    state = _torch_state(fail, snapshot.optimizer["state"], optimizer, fresh)
    merged = [{**ours, **{k: _float(fail, k, theirs[k]) for k in loose if k in theirs}}
              for ours, theirs in zip(fresh["param_groups"], groups)]
    device = next(model.parameters()).device
    for name, live_state in (("torch", torch.get_rng_state),
                             ("cuda", lambda: torch.cuda.get_rng_state(device) if device.type == "cuda" else None)):
        saved, ours = snapshot.rng[name], live_state()
        if saved is not None and ours is not None and saved.shape != tuple(ours.shape):
            fail(f"rng/{name} holds {saved.size} bytes, torch's generator state has {ours.numel()}")
    # everything is checked: only now is the run changed
    load_module_arrays(model, snapshot.params)
    optimizer.load_state_dict({"state": state, "param_groups": merged})
    if snapshot.rng["torch"] is not None:
        torch.set_rng_state(torch.from_numpy(snapshot.rng["torch"]))
    if snapshot.rng["cuda"] is not None and device.type == "cuda":
        torch.cuda.set_rng_state(torch.from_numpy(snapshot.rng["cuda"]), device)
    return snapshot.resume


def _torch_state(fail, arrays: dict, optimizer, fresh: dict) -> dict:
    """{parameter index: {name: tensor}} from "<index>/<name>" arrays, each checked against the
    parameter the index stands for in ``optimizer``'s groups (shape and dtype; ``step`` a scalar)."""
    tensors = {index: p for group, saved in zip(optimizer.param_groups, fresh["param_groups"])
               for index, p in zip(saved["params"], group["params"])}
    state: dict = {}
    for key, value in arrays.items():
        index, _, name = key.partition("/")
        if not index.isdigit() or int(index) not in tensors:
            fail(f"optimiser state {key!r} names no parameter of this model")
        p = tensors[int(index)]
        if name == "step":
            if value.shape != () or value.dtype.kind != "f":
                fail(f"optimiser state {key!r} must be a float scalar, got {value.dtype} {value.shape}")
        elif value.shape != tuple(p.shape) or value.dtype != np.dtype(str(p.dtype).removeprefix("torch.")):
            fail(f"optimiser state {key!r} has {value.dtype} {value.shape}, the parameter is "
                 f"{p.dtype} {tuple(p.shape)}")
        state.setdefault(int(index), {})[name] = torch.from_numpy(value)
    return state


def _failer(snapshot: Snapshot):
    def fail(problem: str):
        raise CheckpointError(f"{snapshot.source or 'checkpoint'}: incompatible with this run: {problem}")
    return fail


def _check_kind(snapshot: Snapshot, trainer: str, impl: str, optimizer_class: str, fail) -> None:
    if snapshot.trainer != trainer:
        fail(f"it was written by a {snapshot.trainer.replace('_', '-')} run, this is a "
             f"{trainer.replace('_', '-')} run")
    if snapshot.impl != impl or snapshot.optimizer["kind"] != impl:
        fail(f"it was written by the {snapshot.impl} side, this is the {impl} side")
    if snapshot.optimizer["class"] != optimizer_class:
        fail(f"the optimiser is {snapshot.optimizer['class']} in the file, {optimizer_class} here")


def _check_arrays(fail, what: str, found: dict, expected: dict) -> None:
    """The same names, each array's shape and dtype those of the live one, float arrays finite
    (a checkpoint of a run that diverged, or a damaged one, is not resumed)."""
    if set(found) != set(expected):
        fail(f"{what} names differ: the file has {sorted(found)}, this run {sorted(expected)}")
    for key, value in expected.items():
        value = np.asarray(value)
        if found[key].shape != value.shape or found[key].dtype != value.dtype:
            fail(f"{what} {key!r} is {found[key].dtype} {found[key].shape} in the file, "
                 f"{value.dtype} {value.shape} in this run")
        if found[key].dtype.kind == "f" and not np.isfinite(found[key]).all():
            fail(f"{what} {key!r} holds NaN or inf")


def _plain(value):
    """``value`` as JSON gives it back (tuples become lists), for comparisons with a file's."""
    return json.loads(json.dumps(value))


def _float(fail, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        fail(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _numpy_rng_state(rng):
    """A NumPy generator's state as JSON-able data (arrays as lists), or None."""
    if rng is None:
        return None
    state = rng.bit_generator.state if isinstance(rng, np.random.Generator) else rng.get_state(legacy=False)
    return {"generator": type(rng).__name__, "state": _plain_arrays(state)}


def _plain_arrays(value):
    if isinstance(value, dict):
        return {k: _plain_arrays(v) for k, v in value.items()}
    return value.tolist() if isinstance(value, np.ndarray) else value


def _numpy_rng(fail, saved):
    """A Generator or RandomState in the ``saved`` state (only the bit generators NumPy names)."""
    try:
        kind, state = saved["generator"], dict(saved["state"])
        name = state["bit_generator"]
        if kind not in ("Generator", "RandomState") or name not in BIT_GENERATORS:
            raise ValueError(f"unknown generator {kind}/{name}")
        if name == "MT19937":   # its key is a uint32 array; JSON held it as a list
            state["state"] = {**state["state"], "key": np.asarray(state["state"]["key"], dtype=np.uint32)}
        if kind == "RandomState":
            rng = np.random.RandomState()
            rng.set_state(state)
            return rng
        rng = np.random.Generator(getattr(np.random, name)())
        rng.bit_generator.state = state
        return rng
    except (KeyError, TypeError, ValueError) as error:
        fail(f"the numpy generator state is malformed ({error})")


# --- the file: save atomically, load with checks ----------------------------------------------------


def save(path, snapshot: Snapshot) -> Path:
    """Write ``snapshot`` to ``path`` atomically (temporary file in the same folder, flush, fsync,
    os.replace, fsync of the folder); returns the path. The temporary file is removed when the
    write fails (and, if a killed writer left one, by the next save); the previous checkpoint, if
    any, is untouched until the rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    for stale in path.parent.glob(f".{path.name}.*.tmp"):   # a writer killed mid-write (one writer per run)
        stale.unlink(missing_ok=True)
    try:
        with h5py.File(tmp, "w") as f:
            _write(f, snapshot)
            f.flush()
        with open(tmp, "rb+") as handle:   # h5py closes without fsync: force the bytes to the disk
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the folder)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _text(value) -> np.bytes_:
    """JSON as a fixed-length bytes attribute: its stored size is its real size (a limit can
    be checked before reading it, unlike a variable-length string)."""
    return np.bytes_(json.dumps(value, allow_nan=False).encode())


def _write(f: h5py.File, s: Snapshot) -> None:
    history = s.resume.history
    f.attrs.update({"format": np.bytes_(FORMAT), "format_version": FORMAT_VERSION, "impl": np.bytes_(s.impl),
                    "trainer": np.bytes_(s.trainer), "epoch": s.epoch, "iteration": s.iteration,
                    "created": np.bytes_(datetime.datetime.now(datetime.timezone.utc).isoformat()),
                    "libraries": _text(library_versions()), "config": _text(s.config),
                    "scheduler": _text(s.resume.scheduler)})
    params = f.create_group("params")
    for key, value in s.params.items():
        params.create_dataset(key, data=value)
    opt = f.create_group("optimizer")
    opt.attrs.update({"kind": np.bytes_(s.optimizer["kind"]), "class": np.bytes_(s.optimizer["class"]),
                      **{k: _text(v) for k, v in s.optimizer["attrs"].items()}})
    state = opt.create_group("state")
    for key, value in s.optimizer["state"].items():
        state.create_dataset(key, data=value)
    hist = f.create_group("history")
    for name in HISTORY_FIELDS:
        hist.create_dataset(name, data=np.asarray(getattr(history, name), dtype=np.float64).reshape(-1))
    hist.attrs.update({"epochs_run": history.epochs_run, "stopped_early": int(history.stopped_early)})
    rng = f.create_group("rng")
    rng.attrs["numpy"] = _text(s.rng["numpy"])
    for name in ("torch", "cuda"):
        if s.rng[name] is not None:
            rng.create_dataset(name, data=s.rng[name])


def load(path) -> Snapshot:
    """The checkpoint at ``path``, every member checked before use (module docstring); any
    problem is a CheckpointError naming the file."""
    path = Path(path)
    with open_hdf5(path, CheckpointError) as f:
        reader = _Reader(path)
        try:
            return reader.snapshot(f)
        except (OSError, KeyError, TypeError, AttributeError) as error:   # h5py on a damaged structure
            raise CheckpointError(f"{path}: damaged checkpoint ({type(error).__name__}: {error})") from None


@dataclass
class _Reader:
    """Reads one checkpoint file, member by member, checking each before use."""

    path: Path

    def fail(self, problem: str):
        raise CheckpointError(f"{self.path}: {problem}")

    def attr(self, obj, name: str, kind: str):
        """An attribute checked from its metadata: kind "text" (fixed-length bytes, JSON or a word)
        or "int" (an integer scalar)."""
        if name not in obj.attrs:
            self.fail(f"missing attribute {name!r} on {obj.name}")
        aid = obj.attrs.get_id(name)
        dtype, shape = aid.dtype, aid.shape
        if kind == "text" and (dtype.kind != "S" or shape != () or dtype.itemsize > MAX_TEXT_BYTES):
            self.fail(f"attribute {name!r} on {obj.name} must be text of at most {MAX_TEXT_BYTES} bytes, "
                      f"got {dtype} {shape}")
        if kind in ("int", "bool") and (dtype.kind not in "iub" or shape != ()):
            self.fail(f"attribute {name!r} on {obj.name} must be an integer scalar, got {dtype} {shape}")
        value = obj.attrs[name]
        if kind == "text":
            try:
                return value.decode()
            except UnicodeDecodeError:
                self.fail(f"attribute {name!r} on {obj.name} is not UTF-8 text")
        return bool(value) if kind == "bool" else int(value)

    def json(self, obj, name: str):
        try:
            return json.loads(self.attr(obj, name, "text"))
        except json.JSONDecodeError as error:
            self.fail(f"attribute {name!r} on {obj.name} is not JSON ({error})")

    def group(self, parent, name: str) -> h5py.Group:
        return member(self.path, parent, name, h5py.Group, CheckpointError)

    def arrays(self, group: h5py.Group, prefix: str = "", depth: int = 0) -> dict:
        """{relative name: array} of every dataset under ``group`` (subgroups to depth 1), numbers only."""
        if len(group) > MAX_MEMBERS:
            self.fail(f"{group.name} holds {len(group)} members, above the limit of {MAX_MEMBERS}")
        out = {}
        for name in group:
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                self.fail(f"{group.name}/{name} is a {type(link).__name__}; only objects stored in the file are read")
            node = group[name]
            if isinstance(node, h5py.Group) and depth == 0:
                out.update(self.arrays(node, f"{prefix}{name}/", depth + 1))
                continue
            if not isinstance(node, h5py.Dataset):
                self.fail(f"{node.name} is not a dataset")
            check_declared(self.path, node.name, node, CheckpointError)
            if node.dtype.kind not in "fiub":
                self.fail(f"dataset {node.name!r} has dtype {node.dtype}; a checkpoint holds numbers only")
            out[prefix + name] = np.asarray(read_declared(self.path, node.name, node, CheckpointError))
        return out

    def snapshot(self, f: h5py.File) -> Snapshot:
        if self.attr(f, "format", "text") != FORMAT:
            self.fail(f"not a Twinprop checkpoint (format {f.attrs['format']!r})")
        version = self.attr(f, "format_version", "int")
        if version not in READABLE_VERSIONS:
            self.fail(f"format version {version}, this Twinprop reads versions "
                      f"{', '.join(map(str, READABLE_VERSIONS))}")
        trainer = self.attr(f, "trainer", "text") if version >= 2 else "mini_batch"
        if trainer not in TRAINERS:
            self.fail(f"trainer must be one of {TRAINERS}, got {trainer!r}")
        impl = self.attr(f, "impl", "text")
        if impl not in ("numpy", "torch"):
            self.fail(f"impl must be 'numpy' or 'torch', got {impl!r}")
        config, scheduler = self.json(f, "config"), self.json(f, "scheduler")
        if not isinstance(config, dict) or (scheduler is not None and not isinstance(scheduler, dict)):
            self.fail("config must be a JSON object and scheduler an object or null")
        history = self.history(self.group(f, "history"))
        for name, value in (("epoch", history.epochs_run), ("iteration", len(history.costs))):
            if self.attr(f, name, "int") != value:
                self.fail(f"attribute {name} = {f.attrs[name]} but the history holds {value}")
        opt_group = self.group(f, "optimizer")
        kind, cls = self.attr(opt_group, "kind", "text"), self.attr(opt_group, "class", "text")
        names = (("lr",) if trainer == "full_batch" else ("hyperparameters", "lr", "initial_lr", "t")
                 if kind == "numpy" else ("param_groups",))
        optimizer = {"kind": kind, "class": cls, "attrs": {n: self.json(opt_group, n) for n in names},
                     "state": self.arrays(self.group(opt_group, "state"))}
        return Snapshot(impl, self.arrays(self.group(f, "params")), optimizer, Resume(history, scheduler),
                        self.rng(self.group(f, "rng")), config, self.path, trainer)

    def history(self, group: h5py.Group) -> History:
        arrays = self.arrays(group)
        for name in HISTORY_FIELDS:
            if name not in arrays or arrays[name].ndim != 1 or arrays[name].dtype != np.float64:
                self.fail(f"history/{name} must be a float64 vector")
        epochs_run = self.attr(group, "epochs_run", "int")
        history = History(**{name: arrays[name].tolist() for name in HISTORY_FIELDS}, epochs_run=epochs_run,
                           stopped_early=self.attr(group, "stopped_early", "bool"))
        if len(history.learning_rates) != len(history.costs) or len(history.epoch_costs) != epochs_run:
            self.fail("the history's lengths disagree (updates, rates, epochs)")
        return history

    def rng(self, group: h5py.Group) -> dict:
        arrays = self.arrays(group)
        for name, value in arrays.items():
            if name not in ("torch", "cuda") or value.dtype != np.uint8 or value.ndim != 1:
                self.fail(f"rng/{name} must be torch's or cuda's uint8 generator state")
        return {"numpy": self.json(group, "numpy"), "torch": arrays.get("torch"), "cuda": arrays.get("cuda")}


# --- the experiments' side: a per-epoch hook, Ctrl-C ---------------------------------------------------


class Checkpointer:
    """The checkpoint of one trial (runs/<experiment>/<variant>/<impl>/checkpoint.h5).

    ``every``: save after every ``every``-th epoch (None: about DEFAULT_CHECKPOINTS per run), and
    always after the last epoch ``epochs`` and on Ctrl-C. A full-batch run counts iterations
    (``epochs`` None: its ``iterations``, given to attach_full_batch).
    ``config``: the run's configuration (JSON-able), saved with it. ``resume_from``: the Snapshot
    to continue from (``--resume``), or None for a fresh run.
    """

    def __init__(self, path, *, every: int | None, epochs: int | None, config: dict,
                 resume_from: Snapshot | None = None):
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ValueError(f"every must be an integer >= 1 or None, got {every!r}")
        self.path, self.config, self.resume_from = Path(path), config, resume_from
        self.requested_every = every
        self._set_total(epochs)
        self.saved: Path | None = None
        self.interrupted = False
        self.unit = "epoch"   # what ``every`` counts: "iteration" once attached to a full-batch run

    def _set_total(self, epochs: int | None) -> None:
        self.epochs = epochs
        self.every = self.requested_every or max(1, -(-(epochs or 1) // DEFAULT_CHECKPOINTS))

    @property
    def start_iteration(self) -> int:
        """The updates already done (0 for a fresh run): where the logging continues."""
        return self.resume_from.iteration if self.resume_from else 0

    def attach_numpy(self, network, params: dict, optimizer) -> dict:
        """{"resume", "checkpoint"} for scratch_numpy.training.train; restores a resumed run first."""
        resume = restore_numpy(self.resume_from, network, params, optimizer) if self.resume_from else None
        return {"resume": resume, "checkpoint": self._hook(
            lambda r, p: capture_numpy(network, p, optimizer, r, self.config))}

    def attach_torch(self, model, optimizer) -> dict:
        """{"resume", "checkpoint"} for reference_torch.training.train; restores a resumed run first."""
        resume = restore_torch(self.resume_from, model, optimizer) if self.resume_from else None
        return {"resume": resume, "checkpoint": self._hook(
            lambda r, m: capture_torch(m, optimizer, r, self.config))}

    def attach_full_batch(self, side, lr: float, iterations: int) -> tuple:
        """(costs so far, hook) for experiments.trainers.full_batch on an experiments.sides
        ``side`` at rate ``lr``: restores a resumed run first (costs: its history; [] when
        fresh); ``hook(costs)`` after each chunk of gradient descent saves on the cadence."""
        self.unit = "iteration"
        if self.epochs is None:
            self._set_total(iterations)
        costs = restore_full_batch(self.resume_from, side, lr, iterations) if self.resume_from else []
        previous = len(costs)

        def checkpoint(costs: list) -> None:
            nonlocal previous
            done, since, previous = len(costs), previous, len(costs)
            self._after(done, since, done == iterations, "iteration",
                        lambda: capture_full_batch(side, lr, costs, self.config))
        _SIGINT.active = True
        return costs, checkpoint

    def _hook(self, capture):
        def checkpoint(resume: Resume, params_or_model) -> None:
            done = resume.history.epochs_run
            self._after(done, done - 1, done == self.epochs or resume.history.stopped_early, "epoch",
                        lambda: capture(resume, params_or_model))
        _SIGINT.active = True
        return checkpoint

    def _after(self, done: int, since: int, final: bool, unit: str, capture) -> None:
        """``done`` epochs (iterations) are complete, ``since`` were at the previous call: save
        when a multiple of ``every`` was passed, at the end, and on Ctrl-C (then Interrupted)."""
        interrupted = _SIGINT.requested
        if interrupted or final or done // self.every > since // self.every:
            self.saved = save(self.path, capture())
        if interrupted:
            self.interrupted = True
            raise Interrupted(self.path, done, self.epochs, unit)

    def close(self) -> None:
        """The trial is over: Ctrl-C no longer waits for an epoch's end. A Ctrl-C that came after
        the last epoch (nothing polled it) stops now, as KeyboardInterrupt."""
        _SIGINT.active = False
        if _SIGINT.requested and not self.interrupted:
            raise KeyboardInterrupt


@dataclass
class _SigintState:
    active: bool = False      # a checkpointing loop is running and polls ``requested``
    requested: bool = False


_SIGINT = _SigintState()


def _on_sigint(signum, frame):
    """First Ctrl-C in a checkpointing loop: finish the epoch (full-batch: the chunk of iterations),
    save, stop (Interrupted). Otherwise (or a second Ctrl-C): KeyboardInterrupt at once."""
    if not _SIGINT.active or _SIGINT.requested:
        raise KeyboardInterrupt
    _SIGINT.requested = True
    print("\nCtrl-C: saving a checkpoint at the end of this epoch or chunk (Ctrl-C again to stop at once)",
          flush=True)


@contextlib.contextmanager
def sigint_saves():
    """Within: Ctrl-C (SIGINT) asks a running Checkpointer to save and raise Interrupted."""
    previous = signal.signal(signal.SIGINT, _on_sigint)
    _SIGINT.requested = False
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _SIGINT.active = _SIGINT.requested = False

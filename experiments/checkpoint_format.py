"""The checkpoint file: its HDF5 format, written atomically, read as an untrusted file and
verified against its checksums (experiments.checkpoint restores it into a run).

What a checkpoint holds (FORMAT_VERSION 3; h5py, NumPy arrays and JSON text, no pickle):

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
    <every object>     attrs checksums: JSON {"attrs": {name: sha256 of the attribute's dtype, shape
                       and bytes}, and "data": the same digest of a dataset's contents, or "members":
                       a group's member names}; written last (``seal``), from what the file holds

Integrity: every dataset and every attribute (config, libraries, optimiser hyperparameters and
param_groups, scheduler, the numpy generator state, the counts) is covered by a sha256, and every
group by its list of members; ``load`` recomputes them all, so one flipped bit in any dataset or
attribute is a CheckpointError naming the file and the dataset or attribute. (HDF5's own Fletcher-32 covers only
chunked datasets, never attributes.) Files of format versions 1 and 2 carry no checksums: they
are refused, saying so (start the run again, or resume it with the Twinprop that wrote it), not
read unverified: a resumed run that silently continues from damaged weights is worse than a rerun.

Writing (``save``): to a temporary file in the checkpoint's folder, flushed and fsynced, then
os.replace onto the checkpoint (and the folder fsynced): a crash at any point leaves either the
previous checkpoint or the new one, never a torn file. Reading (``load``, then ``restore_numpy`` /
``restore_torch``): every problem is a CheckpointError (a ValueError) naming the file: missing,
not HDF5 or truncated, another format or version, a checksum that does not match, missing or added
members, links or storage outside the file, object/vlen/compound dtypes, declared sizes above the
limits (checked before reading), a generator state its library refuses (tried on a throwaway
generator), and, against the run being resumed, the other trainer, other parameter names, shapes,
dtypes, optimiser class or hyperparameters (the rate, for full-batch runs). A run is never
silently started afresh. The checks against the run are experiments.checkpoint's restores;
``runner.prepare_resume`` makes them all before the run starts (a rehearsal), so on the command
line each is one "error:" line and nothing is written.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from scratch_numpy.records import History, Resume

from .datasets import check_declared, member, open_hdf5, read_declared
from .settings import library_versions

FORMAT = "twinprop-checkpoint"
FORMAT_VERSION = 3
UNVERIFIED_VERSIONS = (1, 2)   # written before checkpoints carried checksums: refused (module docstring)
CHECKSUMS = "checksums"      # the attribute of every object that holds its sha256 digests
TRAINERS = ("mini_batch", "full_batch")
FILE_NAME = "checkpoint.h5"
MAX_TEXT_BYTES = 1 << 20     # one JSON attribute
MAX_MEMBERS = 10_000         # datasets in one group
HISTORY_FIELDS = ("costs", "learning_rates", "epoch_costs", "train_accuracy", "dev_accuracy")
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")   # what a numpy state may name


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt or does not fit the run being resumed."""


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


def numpy_generator(fail, saved):
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
    seal(f)


def seal(f: h5py.File) -> None:
    """Stamp every object of ``f`` (the file, its groups and datasets) with CHECKSUMS: JSON
    {"attrs": {name: sha256}, "members": [names] (a group) or "data": sha256 (a dataset)}, computed
    from what the file holds, as ``load`` recomputes them. (Tests also use it to forge a file that
    is intact but does not fit its run.)"""
    objects = [f]
    f.visit(lambda name: objects.append(f[name]))
    for obj in objects:
        obj.attrs[CHECKSUMS] = _text(_digests(obj, obj[()] if isinstance(obj, h5py.Dataset) else None))


def _digests(obj, data: np.ndarray | None) -> dict:
    """The sha256 digests of ``obj``'s attributes (CHECKSUMS excepted), and its member names (a
    group: a missing or added one is named) or the digest of ``data`` (a dataset's contents)."""
    out = {"attrs": {name: _sha256(np.asarray(obj.attrs[name])) for name in obj.attrs if name != CHECKSUMS}}
    if isinstance(obj, h5py.Group):
        out["members"] = sorted(obj)
    else:
        out["data"] = _sha256(np.asarray(data))
    return out


def _sha256(value: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes (C order): the same bytes in another shape or
    dtype do not pass."""
    return hashlib.sha256(f"{value.dtype.str}{value.shape}".encode() + value.tobytes()).hexdigest()


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
        group = member(self.path, parent, name, h5py.Group, CheckpointError)
        self.verify(group)
        return group

    def verify(self, obj, data: np.ndarray | None = None) -> None:
        """``obj``'s attributes (their sizes checked before reading), its members (a group) or
        ``data`` (a dataset's contents, read with its size checked) against its CHECKSUMS."""
        if isinstance(obj, h5py.Group) and len(obj) > MAX_MEMBERS:
            self.fail(f"{obj.name} holds {len(obj)} members, above the limit of {MAX_MEMBERS}")
        if CHECKSUMS not in obj.attrs:
            self.fail(f"{obj.name} has no checksums: it was changed after it was written, or the file is damaged")
        stored = self.json(obj, CHECKSUMS)
        names = set(obj.attrs) - {CHECKSUMS}
        if not isinstance(stored, dict) or not isinstance(stored.get("attrs"), dict) or set(stored["attrs"]) != names:
            self.fail(f"the checksums on {obj.name} do not list its attributes {sorted(names)}: the file is damaged")
        for name in names:
            aid = obj.attrs.get_id(name)
            if aid.dtype.kind not in "Siufb" or aid.get_storage_size() > MAX_TEXT_BYTES:
                self.fail(f"attribute {name!r} on {obj.name} is {aid.dtype} of {aid.get_storage_size()} bytes; "
                          f"a checkpoint's attributes are numbers or text of at most {MAX_TEXT_BYTES} bytes")
        found = _digests(obj, data)
        for name, digest in found["attrs"].items():
            if stored["attrs"][name] != digest:
                self.fail(f"attribute {name!r} on {obj.name} does not match its sha256 checksum: the file is damaged")
        if "members" in found and stored.get("members") != found["members"]:
            listed = stored.get("members") if isinstance(stored.get("members"), list) else []
            self.fail(f"{obj.name} does not hold the members it was written with: missing "
                      f"{sorted(set(listed) - set(found['members']))!r:.300}, added "
                      f"{sorted(set(found['members']) - set(listed))!r:.300}: the file is damaged")
        if "data" in found and stored.get("data") != found["data"]:
            self.fail(f"dataset {obj.name!r} does not match its sha256 checksum: the file is damaged")

    def arrays(self, group: h5py.Group, prefix: str = "", depth: int = 0) -> dict:
        """{relative name: array} of every dataset under ``group`` (subgroups to depth 1), numbers only."""
        out = {}
        for name in group:
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                self.fail(f"{group.name}/{name} is a {type(link).__name__}; only objects stored in the file are read")
            node = group[name]
            if isinstance(node, h5py.Group) and depth == 0:
                self.verify(node)
                out.update(self.arrays(node, f"{prefix}{name}/", depth + 1))
                continue
            if not isinstance(node, h5py.Dataset):
                self.fail(f"{node.name} is not a dataset")
            check_declared(self.path, node.name, node, CheckpointError)
            if node.dtype.kind not in "fiub":
                self.fail(f"dataset {node.name!r} has dtype {node.dtype}; a checkpoint holds numbers only")
            out[prefix + name] = np.asarray(read_declared(self.path, node.name, node, CheckpointError))
            self.verify(node, out[prefix + name])
        return out

    def snapshot(self, f: h5py.File) -> Snapshot:
        if self.attr(f, "format", "text") != FORMAT:
            self.fail(f"not a Twinprop checkpoint (format {f.attrs['format']!r})")
        version = self.attr(f, "format_version", "int")
        if version in UNVERIFIED_VERSIONS:
            self.fail(f"format version {version} predates integrity checks (checksums, format version "
                      f"{FORMAT_VERSION}): it cannot be verified, so it is not resumed; start the run again, "
                      "or resume it with the Twinprop that wrote it")
        if version != FORMAT_VERSION:
            self.fail(f"format version {version}, this Twinprop reads version {FORMAT_VERSION}")
        self.verify(f)
        trainer = self.attr(f, "trainer", "text")
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
        """The generator states, each checked by its library: torch's in a throwaway generator
        (set_state refuses a state that is not its mt19937's), numpy's in a throwaway Generator."""
        arrays = self.arrays(group)
        for name, value in arrays.items():
            if name not in ("torch", "cuda") or value.dtype != np.uint8 or value.ndim != 1:
                self.fail(f"rng/{name} must be torch's or cuda's uint8 generator state")
        if "torch" in arrays:
            try:
                torch.Generator().set_state(torch.from_numpy(arrays["torch"]))
            except RuntimeError as error:
                self.fail(f"rng/torch is not a state torch's generator accepts ({error})")
        state = self.json(group, "numpy")
        if state is not None:
            numpy_generator(lambda problem: self.fail(f"attribute 'numpy' on /rng: {problem}"), state)
        return {"numpy": state, "torch": arrays.get("torch"), "cuda": arrays.get("cuda")}

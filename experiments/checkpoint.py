"""Checkpoints of a training run: each side's live objects captured into a Snapshot and
restored from one, checked against the run, and the Checkpointer the trainers save through.

The file itself (its layout, checksums, atomic writes and checked reading) is
experiments.checkpoint_format; what the runner and the tests use of it (load, save, seal,
CheckpointError, Snapshot, FILE_NAME, CHECKSUMS) is re-exported here.

The mini-batch order is not in the file: it is the run's given permutations, or the same seed's
draws again, so the resumed run replays the very same batches. The torch side seeds torch's
generators from the run's seed before building its model (experiments.runner.run_trial), so the
saved generator state, like everything else in the file, repeats from run to run.

``Checkpointer`` connects checkpoints to the experiments: a training loop's per-epoch hook
(mini-batch) or per-chunk hook (full-batch) that saves every ``every`` epochs (full-batch:
iterations, at the first chunk boundary at or past each multiple), at the last one and when Ctrl-C
was pressed (``sigint_saves``), then raises Interrupted.

Kept states (``keep_states``, ``--keep-states``): every save also writes the same snapshot to
<run dir>/states/<updates done>.h5 (the same file format, written the same atomic way), the
trajectory ``KeptStates`` reads back, file by file and checked, for
parity_tests.checker.divergence.first_divergence (``python -m experiments diverge``).

A restore checks ``snapshot`` against the run (the other trainer, other parameter names, shapes,
dtypes, non-finite values, optimiser class or hyperparameters, the rate for full-batch runs)
before it changes anything; ``runner.prepare_resume`` makes every such check before the run starts,
through a rehearsing Checkpointer that restores into throwaway objects, then raises Rehearsed.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scratch_numpy.records import History, Resume

from .checkpoint_format import (CHECKSUMS, FILE_NAME, CheckpointError, Snapshot, load,  # noqa: F401
                                numpy_generator, save, seal)

GD = "GD"                    # the optimiser class recorded for full-batch gradient descent
DEFAULT_CHECKPOINTS = 10     # per run, when --checkpoint-every is not given
STATES = "states"            # <run dir>/states/<step>.h5: the kept states (keep_states)
TORCH_LAYER = re.compile(r"^(linears|norms)\.(\d+)\.(\w+)$")   # a models.Network state_dict key
COURSE_NAMES = {"linears": {"weight": "W", "bias": "b"},   # (module list, tensor) -> course name, less l
                "norms": {"weight": "gamma", "bias": "beta", "running_mean": "running_mean",
                          "running_var": "running_var"}}


class Rehearsed(Exception):
    """A rehearsing Checkpointer restored its checkpoint into the run's objects: the checkpoint
    fits; the rehearsal stops here, before any training."""


class Interrupted(Exception):
    """Ctrl-C during training: the checkpoint ``path`` was saved after ``epoch`` of ``epochs``
    (``unit``: "epoch", or "iteration" in a full-batch run). ``also``: the other trials of a
    parallel run (experiments.parallel) that the same Ctrl-C stopped with a checkpoint, each an
    Interrupted."""

    also: tuple = ()

    def __init__(self, path: Path, epoch: int, epochs, unit: str = "epoch"):
        super().__init__(f"interrupted after {unit} {epoch} of {epochs}; checkpoint saved to {path}")
        self.path, self.epoch, self.epochs, self.unit = path, epoch, epochs, unit

    def __reduce__(self):   # pickled by a worker process of a parallel run
        return type(self), (self.path, self.epoch, self.epochs, self.unit)


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
    rng = None if snapshot.rng["numpy"] is None else numpy_generator(fail, snapshot.rng["numpy"])
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


# --- kept states: a run directory's trajectory ------------------------------------------------------


def course_arrays(snapshot: Snapshot) -> dict:
    """A snapshot's /params in the course's names and shapes, whichever side wrote it: the NumPy
    side's as saved ({W1, b1 (n1, 1), ..., gamma_l, beta_l, running_mean_l, running_var_l}; logistic
    {w (n_x, 1), b ()}); the torch side's state_dict renamed: linears.<i>.weight -> W<i+1>,
    linears.<i>.bias -> b<i+1> (n, 1), norms.<i>.weight / bias -> gamma<i+1> / beta<i+1> (n, 1),
    norms.<i>.running_mean / running_var -> running_mean<i+1> / running_var<i+1> (n, 1), logistic
    linear.weight (1, n_x) -> w (n_x, 1) and linear.bias (1,) -> b (); batch norm's
    num_batches_tracked (a counter the NumPy side does not keep) is left out. Another name is a
    CheckpointError."""
    if snapshot.impl == "numpy":
        return dict(snapshot.params)
    out = {}
    for key, value in snapshot.params.items():
        layer = TORCH_LAYER.match(key)
        name = layer and COURSE_NAMES[layer[1]].get(layer[3])
        if name:
            out[f"{name}{int(layer[2]) + 1}"] = value[:, None] if value.ndim == 1 else value
        elif key == "linear.weight":
            out["w"] = value.T.copy()
        elif key == "linear.bias":
            out["b"] = value.reshape(())
        elif not key.endswith(".num_batches_tracked"):
            raise CheckpointError(f"{snapshot.source}: parameter {key!r} has no course name")
    return out


class KeptStates:
    """The states kept in <run dir>/states (Checkpointer ``keep_states``), as a trajectory for
    parity_tests.checker.divergence: ``steps`` (updates done, from the file names <step>.h5),
    ``state_at(step)``: that file read by ``load`` (every checksum verified) and given in the
    course's names (course_arrays). A run directory without kept states is a CheckpointError."""

    def __init__(self, run_dir):
        if not Path(run_dir).is_dir():
            raise CheckpointError(f"{run_dir}: no such run directory")
        self.folder = Path(run_dir) / STATES
        files = self.folder.glob("*.h5") if self.folder.is_dir() else ()
        self.files = {int(f.stem): f for f in files if f.stem.isdigit()}
        if not self.files:
            raise CheckpointError(f"{run_dir}: no kept states in {self.folder} (run the experiment with "
                                  "--keep-states)")
        self.steps = sorted(self.files)

    def snapshot(self, step: int) -> Snapshot:
        """The checked Snapshot kept at ``step``; a file whose count is not its name is a CheckpointError."""
        snapshot = load(self.files[step])
        if snapshot.iteration != step:
            raise CheckpointError(f"{self.files[step]}: holds {snapshot.iteration} updates, its name says {step}")
        return snapshot

    def state_at(self, step: int) -> dict:
        return course_arrays(self.snapshot(step))


# --- the experiments' side: a per-epoch hook, Ctrl-C ---------------------------------------------------


def check_world_size(snapshot: Snapshot, world_size: int | None, problem: str = "cannot resume") -> None:
    """A CheckpointError unless ``snapshot`` was written by a run of ``world_size`` processes (None:
    one process, no DDP), naming both; a data-parallel checkpoint met by a one-process run is told
    how to resume it (run --resume DIR --ddp K)."""
    saved = snapshot.config.get("world_size")
    if saved == world_size:
        return
    def processes(k):
        return "one process (no DDP)" if k is None else f"{k} data-parallel processes"
    hint = (f" (resume it with: python -m experiments run --resume {Path(snapshot.source).parent} --ddp {saved})"
            if world_size is None and saved is not None and snapshot.source else "")
    raise CheckpointError(f"{snapshot.source or 'checkpoint'}: {problem}: it was written by {processes(saved)}, "
                          f"this run has {processes(world_size)}{hint}")


class Checkpointer:
    """The checkpoint of one trial (runs/<experiment>/<variant>/<impl>/checkpoint.h5).

    ``every``: save after every ``every``-th epoch (None: about DEFAULT_CHECKPOINTS per run), and
    always after the last epoch ``epochs`` and on Ctrl-C. A full-batch run counts iterations
    (``epochs`` None: its ``iterations``, given to attach_full_batch).
    ``config``: the run's configuration (JSON-able), saved with it. ``resume_from``: the Snapshot
    to continue from (``--resume``), or None for a fresh run. ``rehearsal``: restore
    ``resume_from`` into the run's objects, then raise Rehearsed (runner.prepare_resume: every
    check a restore makes, on throwaway objects, before the real run writes anything).
    ``keep_states``: also keep each saved snapshot as states/<updates done>.h5 beside the
    checkpoint (KeptStates), the trajectory the divergence locator bisects over.
    ``world_size``: None for a one-process run, else the K processes of a data-parallel run
    (experiments.ddp), recorded in the config as "world_size"; a restore refuses a checkpoint of
    another world size (a DDP run's in a one-process run and the reverse). ``writes``: False for
    the ranks of a data-parallel run other than 0, which restore from the checkpoint but never save.
    """

    def __init__(self, path, *, every: int | None, epochs: int | None, config: dict,
                 resume_from: Snapshot | None = None, rehearsal: bool = False, keep_states: bool = False,
                 world_size: int | None = None, writes: bool = True):
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ValueError(f"every must be an integer >= 1 or None, got {every!r}")
        if world_size is not None and (isinstance(world_size, bool) or not isinstance(world_size, int)
                                       or world_size < 1):
            raise ValueError(f"world_size must be None or an integer >= 1, got {world_size!r}")
        config = config if world_size is None else {**config, "world_size": world_size}
        self.path, self.config, self.resume_from, self.rehearsal = Path(path), config, resume_from, rehearsal
        self.keep_states, self.world_size, self.writes = keep_states, world_size, writes
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
        resume = self._restore(restore_numpy, network, params, optimizer)
        return {"resume": resume, "checkpoint": self._hook(
            lambda r, p: capture_numpy(network, p, optimizer, r, self.config))}

    def attach_torch(self, model, optimizer) -> dict:
        """{"resume", "checkpoint"} for reference_torch.training.train; restores a resumed run first."""
        resume = self._restore(restore_torch, model, optimizer)
        return {"resume": resume, "checkpoint": self._hook(
            lambda r, m: capture_torch(m, optimizer, r, self.config))}

    def attach_full_batch(self, side, lr: float, iterations: int) -> tuple:
        """(costs so far, hook) for experiments.trainers.full_batch on an experiments.sides
        ``side`` at rate ``lr``: restores a resumed run first (costs: its history; [] when
        fresh); ``hook(costs)`` after each chunk of gradient descent saves on the cadence."""
        self.unit = "iteration"
        if self.epochs is None:
            self._set_total(iterations)
        costs = self._restore(restore_full_batch, side, lr, iterations) or []
        previous = len(costs)

        def checkpoint(costs: list) -> None:
            nonlocal previous
            done, since, previous = len(costs), previous, len(costs)
            self._after(done, since, done == iterations, "iteration",
                        lambda: capture_full_batch(side, lr, costs, self.config))
        _SIGINT.active = True
        return costs, checkpoint

    def _restore(self, restore, *live):
        """``restore(resume_from, *live)``'s result, None for a fresh run; a rehearsal stops here."""
        if self.resume_from is None:
            return None
        check_world_size(self.resume_from, self.world_size, "incompatible with this run")
        restored = restore(self.resume_from, *live)
        if self.rehearsal:
            raise Rehearsed
        return restored

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
        if self.writes and (interrupted or final or done // self.every > since // self.every):
            snapshot = capture()
            self.saved = save(self.path, snapshot)
            if self.keep_states:
                states = self.path.parent / STATES
                states.mkdir(exist_ok=True)
                save(states / f"{snapshot.iteration}.h5", snapshot)
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

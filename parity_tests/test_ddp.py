"""Data parallelism (reference_torch.ddp, experiments.ddp): K processes under torchrun give the
parameters of the one-process loop, and plain DDP's mean of the ranks' means does not.

The oracles are independent of the code under test: the one-process runs of
reference_torch.training.train and scratch_numpy.training.train on the same permutations and
initial weights, torch.utils.data.DistributedSampler for the sampler's strides, and the runner's
own single-process experiment run. The multi-process parts run ``python -m torch.distributed.run``
in a new session with a timeout, and kill its process group when they end, however they end.
With -s the measured figures are printed.

Run as a module under torchrun (``-m parity_tests.test_ddp OUT_DIR``), this file is also the
worker of the gloo test: every rank trains the cases of CASES and saves its results. The worker
needs only the two implementations, so the experiments package is imported by the tests that use
it (its catalog imports every experiment).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.utils.data import DistributedSampler

from reference_torch import bridge
from reference_torch import ddp as t_ddp
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from reference_torch import training as t_training
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import training as n_training
from scratch_numpy.draws import draw_permutations

REPO = Path(__file__).resolve().parent.parent
M, BATCH, EPOCHS, LR = 211, 64, 2, 0.01   # the last batch of 19 splits 10 + 9 on 2 ranks; 8 steps
LAST = M // BATCH                         # the index of the first partial batch: step 3
CASES = {   # name: (the model's l2_lambda, L2 through the optimiser's weight_decay, weighting, m, sampling)
    "plain": (0.0, 0.0, "global", M, "shuffle"),
    "l2-cost": (0.7, 0.0, "global", M, "shuffle"),
    "l2-decay": (0.0, 0.7, "global", M, "shuffle"),
    "empty-shard": (0.0, 0.0, "global", 3 * BATCH + 1, "shuffle"),   # a last batch of 1: rank 1's shard is empty
    "replacement": (0.0, 0.0, "global", M, "replacement"),   # index batches drawn with replacement (seed 11)
    "rank_mean": (0.0, 0.0, "rank_mean", M, "shuffle"),
    "schedule-step": (0.0, 0.0, "global", M, "shuffle"),    # with SCHEDULES' LambdaLR counting iterations
    "schedule-epoch": (0.0, 0.0, "global", M, "shuffle"),   # ... and counting epochs
}
SCHEDULES = {"schedule-step": {"name": "inverse_sqrt_step", "k": 1.0},
             "schedule-epoch": {"name": "inverse_time", "decay_rate": 1.0}}
STOP = "rank0-stops"   # the worker's "plain" run with an early stopping that says stop on rank 0 only
TIMEOUT = 40   # seconds for one torchrun: its start and a few steps take about 5 on 2 cores


def relative(a, b) -> float:
    """max |a - b| / max |a|."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / np.abs(a).max())


def max_relative(a: dict, b: dict) -> float:
    """The largest relative difference over the tensors of two parameter dicts."""
    assert set(a) == set(b)
    return max(relative(a[k], b[k]) for k in a)


def problem(m: int):
    """The shared start: data X (2, m) and Y (1, m), the initial weights and the permutations,
    all drawn with NumPy."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((2, m))
    Y = (X[:1] * X[1:2] > 0).astype(np.int64)
    params0 = n_models.Network((2, 8, 8, 1), "tanh", "sigmoid").init_params("xavier", rng, "float64")
    return X, Y, params0, draw_permutations(m, EPOCHS, 11)


def order(case: str) -> dict:
    """The loop's batch-order keywords of a case: its permutations, or its sampling and seed."""
    sampling, m = CASES[case][4], CASES[case][3]
    return {"permutations": problem(m)[3]} if sampling == "shuffle" else {"sampling": sampling, "seed": 11}


def torch_run(case: str, train, early_stopping=None, history: bool = False):
    """``train`` (reference_torch.training.train or reference_torch.ddp.train) on the problem with
    the case's L2; the final parameters and the History's costs (``history``: the History)."""
    l2_cost, l2_decay, weighting, m, _ = CASES[case]
    X, Y, params0, _ = problem(m)
    model = t_models.Network((2, 8, 8, 1), "tanh", "sigmoid", dtype=torch.float64, l2_lambda=l2_cost)
    bridge.params_to_module(params0, model)
    optimizer = t_optim.make_optimizer("adam", model, lr=LR, l2_lambda=l2_decay, m=m)
    extra = {} if train is t_training.train else {"weighting": weighting}
    ran = train(model, *bridge.data_to_torch(X, Y), optimizer, epochs=EPOCHS, batch_size=BATCH,
                early_stopping=early_stopping, schedule=SCHEDULES.get(case), **order(case), **extra)
    return bridge.params_from_module(model), ran if history else ran.costs


def numpy_run(case: str):
    l2_cost, l2_decay, _, m, _ = CASES[case]
    X, Y, params, _ = problem(m)
    network = n_models.Network((2, 8, 8, 1), "tanh", "sigmoid", l2_lambda=l2_cost)
    optimizer = n_optim.make_optimizer("adam", params, lr=LR, l2_lambda=l2_decay, m=m)
    history = n_training.train(network, params, X, Y, optimizer, epochs=EPOCHS, batch_size=BATCH,
                               schedule=SCHEDULES.get(case), **order(case))
    return params, history.costs


def torchrun(args: list, nproc: int = 2, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """``python -m torch.distributed.run --standalone --nproc-per-node nproc args`` (in_session)."""
    return in_session([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                       *args], timeout)


def in_session(command: list, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """``command`` in its own session, killed (its whole process group) if it outlives ``timeout``
    or the test fails."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    finally:
        try:   # the workers may outlive the agent (a timeout, a failure): end the whole group
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


# --- a. the sampler, no processes ------------------------------------------------------------------


@pytest.mark.parametrize("m, batch_size, K", [(211, 64, 2), (211, 64, 3), (10, 4, 3), (9, 4, 4), (5, 2, 4)])
@pytest.mark.parametrize("sampling", ["shuffle", "replacement"])
def test_the_shards_of_a_global_batch_are_that_batch(m, batch_size, K, sampling):
    """Each global batch's K shards together are the one-process batch, as an exact index multiset
    (replacement: indices repeat), no index added (no padding), every rank as many batches; a batch
    of fewer than K examples leaves some shard empty."""
    orders = [shared_order(m, batch_size, sampling, epoch) for epoch in range(2)]
    samplers = [t_ddp.ShardSampler(orders, m, batch_size, num_replicas=K, rank=r, sampling=sampling)
                for r in range(K)]
    for epoch, order in enumerate(orders):
        one_process = ([order[i:i + batch_size].tolist() for i in range(0, m, batch_size)] if sampling == "shuffle"
                       else [batch.tolist() for batch in order])
        for s in samplers:
            s.set_epoch(epoch)
        shards = [list(s) for s in samplers]
        assert [len(s) for s in samplers] == [len(x) for x in shards] == [len(one_process)] * K
        for b, batch in enumerate(one_process):
            union = sorted(i for r in range(K) for i in shards[r][b])
            assert union == sorted(batch)
            assert (min(len(shards[r][b]) for r in range(K)) == 0) == (len(batch) < K)


def shared_order(m, batch_size, sampling, epoch):
    """An epoch's shared order, drawn with NumPy (a permutation, or index batches with replacement)."""
    rng = np.random.default_rng(epoch)
    if sampling == "shuffle":
        return rng.permutation(m)
    return [rng.integers(0, m, batch_size) for _ in range(max(m // batch_size, 1))]


@pytest.mark.parametrize("m, batch_size, K", [(48, 8, 2), (48, 12, 4), (36, 6, 3)])
def test_strides_are_distributed_samplers_on_full_batches(m, batch_size, K):
    """With the identity permutation, K dividing B and K * B dividing m (so DistributedSampler
    pads nothing), rank r's shards concatenated are exactly DistributedSampler(range(m), K, r,
    shuffle=False)'s index list, in order, and its shard of global batch b is that list's b-th run
    of B / K indices (DataLoader(batch_size=B / K) over it)."""
    for r in range(K):
        ours = list(t_ddp.ShardSampler([np.arange(m)], m, batch_size, num_replicas=K, rank=r))
        theirs = list(DistributedSampler(range(m), num_replicas=K, rank=r, shuffle=False))
        assert [i for shard in ours for i in shard] == theirs
        step = batch_size // K
        assert ours == [theirs[i:i + step] for i in range(0, len(theirs), step)]


def test_distributed_sampler_pads_and_the_shards_do_not():
    """m = 211 on K = 2: DistributedSampler (drop_last=False) hands out 212 indices, example 0
    twice; the shards of the course's partition hand out each of the 211 once."""
    theirs = [i for r in range(2) for i in DistributedSampler(range(M), num_replicas=2, rank=r, shuffle=False)]
    ours = [i for r in range(2) for shard in t_ddp.ShardSampler([np.arange(M)], M, BATCH, num_replicas=2, rank=r)
            for i in shard]
    assert len(theirs) == M + 1 and theirs.count(0) == 2
    assert sorted(ours) == list(range(M))


def test_bad_sampler_arguments_are_a_clear_error():
    with pytest.raises(ValueError, match="rank must be"):
        t_ddp.ShardSampler([np.arange(4)], 4, 2, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="orders"):
        t_ddp.ShardSampler([np.arange(5)], 4, 2, num_replicas=2, rank=0)
    with pytest.raises(ValueError, match="epoch must be"):
        t_ddp.ShardSampler([np.arange(4)], 4, 2, num_replicas=2, rank=0).set_epoch(1)


# --- b. gloo, 2 processes: DDP is the one-process run; plain DDP is not ------------------------------


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory):
    """{rank: {case: (params, costs)}} from two gloo processes running CASES (the worker below)."""
    out = tmp_path_factory.mktemp("ddp")
    done = torchrun(["-m", "parity_tests.test_ddp", str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    results = {}
    for rank in range(2):
        with np.load(out / f"rank{rank}.npz") as saved:
            results[rank] = {case: ({k.split("/")[1]: saved[k] for k in saved if k.startswith(f"{case}/")
                                     and k != f"{case}/costs"}, saved[f"{case}/costs"].tolist()) for case in CASES}
            results[rank][STOP] = {k.split("/")[1]: saved[k] for k in saved if k.startswith(f"{STOP}/")}
            results[rank][f"{STOP}-after"] = {k.split("/")[1]: saved[k] for k in saved
                                              if k.startswith(f"{STOP}-after/")}
    return results


@pytest.mark.parametrize("case", ["plain", "l2-cost", "l2-decay", "empty-shard", "replacement", "schedule-step",
                                  "schedule-epoch"])
def test_ddp_is_the_one_process_run(ddp_results, case):
    """2 ranks, Adam, float64, 8 steps with a 10 + 9 last batch (empty-shard: a last batch of 1,
    rank 1's shard empty): every rank's parameters and History are the one-process torch run's and
    the NumPy run's to 1e-12 relative; L2 (in the cost or as weight_decay) counts once; index
    batches drawn with replacement split the same way; a LambdaLR stepped per iteration or per
    epoch steps alike on every rank."""
    single, single_costs = torch_run(case, t_training.train)
    ours, theirs = numpy_run(case)
    for rank, by_case in ddp_results.items():
        params, costs = by_case[case]
        vs_torch, vs_numpy = max_relative(single, params), max_relative(ours, params)
        costs_vs = relative(single_costs, costs)
        print(f"\n{case} rank {rank}: params vs one-process torch {vs_torch:.1e}, vs NumPy {vs_numpy:.1e}; "
              f"costs vs torch {costs_vs:.1e}")
        assert vs_torch <= 1e-12 and vs_numpy <= 1e-12 and costs_vs <= 1e-12
        assert len(costs) == len(single_costs) >= 6


def test_plain_ddp_averages_the_ranks_means(ddp_results):
    """weighting="rank_mean" (plain DDP) agrees with the one-process run up to the partial last
    batch and parts there: its recorded cost of step LAST is the mean of the two shards' means (10 and
    9 examples, from the one-process parameters after LAST steps) where the one-process run's is their
    weighted mean, and the final parameters are far apart."""
    single, single_costs = torch_run("plain", t_training.train)
    params, costs = ddp_results[0]["rank_mean"]
    before = relative(single_costs[:LAST], costs[:LAST])
    at = abs(costs[LAST] - single_costs[LAST]) / abs(single_costs[LAST])
    final = max_relative(single, params)
    print(f"\nrank_mean: costs before the partial batch {before:.1e}, at it {at:.1e}; final params {final:.1e}")
    assert before <= 1e-12
    assert at > 1e-6 and final > 1e-6
    # the parameters before step LAST: the one-process run's first LAST steps (those batches alone, in order);
    # then the two shards' mean losses, 10 and 9 examples, from those parameters
    X, Y, params0, permutations = problem(M)
    first = permutations[0][:LAST * BATCH]
    model = t_models.Network((2, 8, 8, 1), "tanh", "sigmoid", dtype=torch.float64)
    bridge.params_to_module(params0, model)
    t_training.train(model, *bridge.data_to_torch(X[:, first], Y[:, first]),
                     t_optim.make_optimizer("adam", model, lr=LR), epochs=1, batch_size=BATCH,
                     permutations=[np.arange(LAST * BATCH)])
    last = permutations[0][LAST * BATCH:]
    with torch.no_grad():
        means = [float(model.cost(*bridge.data_to_torch(X[:, shard], Y[:, shard]))) for shard in (last[0::2],
                                                                                                   last[1::2])]
    assert (len(last[0::2]), len(last[1::2])) == (10, 9)
    assert abs(costs[LAST] - (means[0] + means[1]) / 2) <= 1e-12 * abs(costs[LAST])
    assert abs(single_costs[LAST] - (10 * means[0] + 9 * means[1]) / 19) <= 1e-12 * abs(single_costs[LAST])


def test_every_rank_stops_when_rank_0_does(ddp_results):
    """An early stopping that says stop after epoch 0 on rank 0 only (as a rank whose history parted
    would): every rank follows rank 0's decision, stops after one epoch of two and ends at the one-process
    run of one epoch; the group goes on to pair its next run's collectives (which then is the one-process
    run again). Without the agreement rank 1 would go on into epoch 1's all-reduce alone."""
    single, _ = torch_run("plain", t_training.train, early_stopping=lambda history: True)
    again, _ = torch_run("plain", t_training.train)
    for rank, by_case in ddp_results.items():
        stopped = by_case[STOP]
        assert int(stopped["epochs_run"]) == 1 and bool(stopped["stopped_early"])
        assert max_relative(single, {k: v for k, v in stopped.items() if k in single}) <= 1e-12
        assert max_relative(again, by_case[f"{STOP}-after"]) <= 1e-12


# --- c. end to end: experiments.ddp under torchrun is the runner's one-process run ------------------

EXPERIMENT, VARIANT = "batch_size", "minibatch"   # 300 moons points, batches of 64, 5 quick epochs: 25 steps
DDP_DIR = Path(EXPERIMENT, VARIANT, "torch-ddp2")


def final_params(run_dir: Path) -> dict:
    from experiments import checkpoint
    return checkpoint.course_arrays(checkpoint.load(run_dir / checkpoint.FILE_NAME))


def test_the_launcher_is_the_one_process_run_and_resumes(tmp_path, capsys):
    """python -m experiments run ... --ddp 2 (torchrun with 2 ranks): exit 0; rank 0's run directory has one event file, the checkpoint and
    the kept states, and nothing else was written (rank 1 writes nothing); its final parameters
    are the runner's one-process torch run's; a restart from the state kept after epoch 2 (of 5)
    ends at the same parameters; a resume with 1 process is refused, naming both world sizes."""
    from experiments import checkpoint
    from experiments import ddp as ddp_launcher
    from experiments.catalog import EXPERIMENTS
    from experiments.runner import run_experiment
    from experiments.settings import make_settings
    done = in_session([sys.executable, "-m", "experiments", "run", EXPERIMENT, "--variant", VARIANT, "--quick",
                       "--logdir", str(tmp_path / "ddp"), "--checkpoint-every", "1", "--keep-states", "--ddp", "2"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{EXPERIMENT} on 2 processes (gloo)" in done.stdout
    run_dir = tmp_path / "ddp" / DDP_DIR
    written = sorted(str(p.relative_to(tmp_path / "ddp")) for p in (tmp_path / "ddp").rglob("*") if p.is_file())
    events = [w for w in written if "tfevents" in w]
    assert len(events) == 1 and events[0].startswith(str(DDP_DIR))
    assert set(written) - set(events) == {str(DDP_DIR / checkpoint.FILE_NAME),
                                          *(str(DDP_DIR / "states" / f"{5 * e}.h5") for e in range(1, 6))}

    settings = make_settings(impl="torch", device="cpu", logdir=tmp_path / "one", quick=True)
    run_experiment(EXPERIMENTS[EXPERIMENT], settings, [VARIANT])
    ddp_params = final_params(run_dir)
    gap = max_relative(final_params(tmp_path / "one" / EXPERIMENT / VARIANT / "torch"), ddp_params)
    with capsys.disabled():   # capsys holds the launcher's output below
        print(f"\nexperiments.ddp vs the runner's one-process torch run: {gap:.1e}")
    assert gap <= 1e-12

    resumed = tmp_path / "resumed" / DDP_DIR
    resumed.mkdir(parents=True)
    shutil.copy(run_dir / "states" / "10.h5", resumed / checkpoint.FILE_NAME)   # after epoch 2 of 5
    done = in_session([sys.executable, "-m", "experiments", "run", "--resume", str(resumed), "--ddp", "2"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert checkpoint.load(resumed / checkpoint.FILE_NAME).epoch == 5
    gap = max_relative(ddp_params, final_params(resumed))
    with capsys.disabled():
        print(f"resumed from epoch 2 vs the uninterrupted run: {gap:.1e}")
    assert gap <= 1e-12

    capsys.readouterr()
    assert ddp_launcher.launch(["--resume", str(run_dir)], 1) == 2
    assert "written by 2 data-parallel processes, this run has 1" in capsys.readouterr().err
    from experiments import cli   # run --resume without --ddp: refused, saying how to resume it
    assert cli.main(["run", "--resume", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "written by 2 data-parallel processes, this run has one process (no DDP)" in err
    assert f"run --resume {run_dir} --ddp 2" in err


def test_check_compares_with_one_process_runs_and_fails_beyond_its_bound(tmp_path):
    """--check's report against the one-process torch and NumPy runs: a data-parallel outcome that
    is the one-process run's is within CHECK_RTOL; the same outcome with one weight moved by
    1e-9 of the largest (beyond float64's 1e-12) is reported as parting, and the check fails."""
    from experiments import ddp as ddp_launcher
    plan = ddp_launcher.prepare(["optimisers", "--variant", "adam", "--quick", "--check", "--logdir",
                                 str(tmp_path)], 2)
    outcome = ddp_launcher.one_process(plan, plan.variants[0], "torch", {})
    text, held = ddp_launcher.report(plan, [outcome])
    assert held and text.count("within 1e-12") == 2 and "vs one-process torch: 0.00e+00" in text
    W = outcome.params["W1"]
    W[0, 0] += 1e-9 * np.abs(W).max()
    text, held = ddp_launcher.report(plan, [outcome])
    assert not held and text.count("PARTS: beyond 1e-12") == 2


def test_check_allows_the_rounding_a_long_run_carries(tmp_path, monkeypatch):
    """A run whose one-process torch and NumPy sides already differ by 3.8e-13 (bias_variance n-50
    --quick: 100 epochs of Adam, rounding amplified) and whose data-parallel parameters part from
    them by 1.5e-12 (measured with 2 gloo ranks) holds; a data-parallel run 1e-6 off does not, nor
    one 1e-3 off when the sides themselves cannot be compared."""
    from experiments import ddp as ddp_launcher
    plan = ddp_launcher.prepare(["optimisers", "--variant", "adam", "--quick", "--check", "--logdir",
                                 str(tmp_path)], 2)
    W = np.random.default_rng(0).standard_normal((4, 3))
    moved = lambda by: {"W1": W + by * np.abs(W).max() * np.eye(4, 3)}   # noqa: E731
    references = {"torch": moved(0.0), "numpy": moved(3.8e-13)}
    monkeypatch.setattr(ddp_launcher, "one_process",
                        lambda plan, variant, impl, context: SimpleNamespace(params=references[impl]))
    text, held = ddp_launcher.report(plan, [SimpleNamespace(metrics={}, params=moved(1.5e-12))])
    assert held and text.count("within 4e-11") == 2 and "one-process torch vs numpy: 3.80e-13" in text, text
    text, held = ddp_launcher.report(plan, [SimpleNamespace(metrics={}, params=moved(1e-6))])
    assert not held and text.count("PARTS: beyond 4e-11") == 2, text
    references["numpy"] = {"W1": W[:3]}   # sides that cannot be compared (inf apart) leave the cap, not no bound
    text, held = ddp_launcher.report(plan, [SimpleNamespace(metrics={}, params=moved(1e-3))])
    assert not held and "PARTS: beyond 1e-06" in text, text


def test_the_checkpointer_records_the_world_size_and_refuses_another(tmp_path):
    """experiments.checkpoint.Checkpointer(world_size=K): the saved config records K; a restore
    with another world size (one process, 3) is refused naming both, with the same K it restores;
    writes=False (the ranks but 0) saves nothing, kept states included."""
    from experiments import checkpoint

    def train(path, **options):
        model = t_models.Network((2, 4, 1), "tanh", "sigmoid", dtype=torch.float64)
        optimizer = t_optim.make_optimizer("adam", model, lr=LR)
        ckpt = checkpoint.Checkpointer(path, every=1, epochs=2, config={"experiment": "x"}, **options)
        try:
            X, Y, _, _ = problem(16)
            t_training.train(model, *bridge.data_to_torch(X, Y), optimizer, epochs=2, batch_size=8, seed=0,
                             **ckpt.attach_torch(model, optimizer))
        finally:
            ckpt.close()

    (tmp_path / "silent").mkdir()
    (tmp_path / "rank0").mkdir()
    train(tmp_path / "silent" / "checkpoint.h5", world_size=2, writes=False, keep_states=True)
    assert not any((tmp_path / "silent").iterdir())
    train(tmp_path / "rank0" / "checkpoint.h5", world_size=2, keep_states=True)
    snapshot = checkpoint.load(tmp_path / "rank0" / "checkpoint.h5")
    assert snapshot.config == {"experiment": "x", "world_size": 2}
    assert sorted(p.name for p in (tmp_path / "rank0" / "states").iterdir()) == ["2.h5", "4.h5"]   # 2 updates an epoch
    for k, written in [(None, "this run has one process (no DDP)"), (3, "this run has 3 data-parallel processes")]:
        with pytest.raises(checkpoint.CheckpointError, match=re.escape(f"written by 2 data-parallel processes, {written}")):
            train(tmp_path / "other.h5", world_size=k, resume_from=snapshot)
    train(tmp_path / "again.h5", world_size=2, resume_from=snapshot)


# --- d. bad input: one clear error each ------------------------------------------------------------


@pytest.mark.parametrize("argv, nproc, message", [
    (["shallow_flower"], 2, "does not train through the mini-batch loop; data-parallel runs are for batch_size"),
    (["batch_size", "--variant", "nope"], 2, "has no variant"),
    (["batch_size", "--resume", "x"], 2, "not both"),
    (["batch_size", "--dtype", "float16"], 2, "--dtype"),
    (["batch_size"], 0, "nproc must be an integer >= 1"),
])
def test_bad_launcher_input_is_one_error_line(argv, nproc, message, capsys, tmp_path):
    from experiments import ddp as ddp_launcher
    assert ddp_launcher.launch([*argv, "--logdir", str(tmp_path)], nproc) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_more_cuda_processes_than_gpus_is_one_error_line(tmp_path, monkeypatch, capsys):
    """NCCL gives rank r cuda:LOCAL_RANK: 2 processes on a machine with one GPU are refused before
    any process starts (not a rank's "invalid device ordinal" after the group formed); 1 is not."""
    from experiments import ddp as ddp_launcher
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    argv = ["optimisers", "--variant", "adam", "--device", "cuda", "--logdir", str(tmp_path)]
    assert ddp_launcher.launch(argv, 2) == 2
    assert "2 data-parallel processes on CUDA need 2 GPUs (NCCL: one per rank), this machine has 1" in \
        capsys.readouterr().err
    assert ddp_launcher.prepare(argv, 1).backend == "nccl"
    assert ddp_launcher.prepare(argv, 4, local_world_size=1).backend == "nccl"   # 4 ranks on 4 machines


@pytest.mark.parametrize("argv, message", [
    (["optimisers", "--ddp", "0"], "--ddp must be an integer >= 1"),
    (["optimisers", "--ddp", "2", "--impl", "numpy"], "drop --impl numpy"),
    (["optimisers", "--ddp", "2", "--jobs", "2"], "drop --jobs"),
    (["optimisers", "batch_size", "--ddp", "2"], "--ddp runs one experiment"),
    (["all", "--ddp", "2"], "--ddp runs one experiment"),
    (["--resume", "x", "--ddp", "2", "--quick"], "--resume takes the run's settings from its checkpoint; drop"),
    (["shallow_flower", "--ddp", "2"], "does not train through the mini-batch loop"),
])
def test_bad_run_ddp_input_is_one_error_line(argv, message, capsys, tmp_path):
    """run ... --ddp K refuses what one torchrun of the torch side cannot do, before any process starts."""
    from experiments import cli
    assert cli.main(["run", *argv, "--logdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_the_data_parallel_experiments_exist():
    from experiments import ddp as ddp_launcher
    from experiments.catalog import EXPERIMENTS
    assert set(ddp_launcher.MINI_BATCH) <= set(EXPERIMENTS)


@pytest.fixture
def one_rank_group():
    """A process group of this process alone (world size 1): what DataParallel checks for."""
    torch.distributed.init_process_group("gloo", store=torch.distributed.HashStore(), rank=0, world_size=1)
    try:
        yield
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.parametrize("options, message", [
    ({"batch_norm": True}, "model has batch norm"),
    ({"keep_probs": (0.8, 1.0)}, "model has dropout"),
])
def test_models_data_parallelism_refuses(options, message):
    model = t_models.Network((2, 4, 4, 1), "relu", "sigmoid", dtype=torch.float64, **options)
    with pytest.raises(ValueError, match=message):
        t_ddp.DataParallel(model, batch_size=8)


def test_a_bad_weighting_is_a_clear_error(one_rank_group):
    model = t_models.Network((2, 4, 1), "relu", "sigmoid", dtype=torch.float64)
    with pytest.raises(ValueError, match="weighting"):
        t_ddp.DataParallel(model, batch_size=8, weighting="sum")


def test_no_process_group_is_a_clear_error():
    model = t_models.Network((2, 4, 1), "relu", "sigmoid", dtype=torch.float64)
    with pytest.raises(ValueError, match="initialised torch.distributed process group"):
        t_ddp.DataParallel(model, batch_size=8)


def worker(out: Path) -> None:
    """One rank of the gloo test: each case of CASES through reference_torch.ddp.train, saved to
    OUT/rank<r>.npz as <case>/<parameter> and <case>/costs."""
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo")
    try:
        saved = {}
        for case in CASES:
            params, costs = torch_run(case, t_ddp.train)
            saved.update({f"{case}/{k}": v for k, v in params.items()}, **{f"{case}/costs": np.array(costs)})
        rank = torch.distributed.get_rank()
        params, history = torch_run("plain", t_ddp.train, early_stopping=lambda history: rank == 0, history=True)
        saved.update({f"{STOP}/{k}": v for k, v in params.items()},
                     **{f"{STOP}/epochs_run": np.array(history.epochs_run),
                        f"{STOP}/stopped_early": np.array(history.stopped_early)})
        params, _ = torch_run("plain", t_ddp.train)   # the group still pairs its collectives after the stop
        saved.update({f"{STOP}-after/{k}": v for k, v in params.items()})
        np.savez(out / f"rank{torch.distributed.get_rank()}.npz", **saved)
    finally:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    worker(Path(sys.argv[1]))

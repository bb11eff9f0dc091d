"""Parallel runs (``python -m experiments run --jobs N``): the trials of a run (one variant of one
experiment on one implementation each) as tasks for N worker processes.

    run_experiments(plans, settings, jobs)    the result of each experiment, in order

``jobs`` 1 (or a run of one trial, or of an experiment a worker could not find by its name: a
test's stand-in) is the sequential run, in this process: runner.run_experiment for each
experiment in turn. Otherwise min(jobs, trials) workers are spawned (not forked: torch
and fork do not mix), each with one BLAS, OpenMP and torch thread (experiments.worker,
runner.configured). A trial starts once what it reads has arrived: the torch trial of a pair
after its NumPy trial (Trial.reference: the torch run logs its divergence from the NumPy run as
it trains, and draws the pair's figures), and, in an experiment that declares shares_context,
each variant after the one before it on the same implementation (Trial.context); otherwise
trials of any variant and experiment run side by side, the catalog's order first. A trial gets
what it gets in the sequential run (the settings, the variant, the experiment's data, loaded
once here and sent with each trial, the reference, the context; the seeds are set per trial by
run_trial), so it gives the same bits (parity_tests/test_experiments_parallel.py). The pair's
divergence, the claims and results.json are computed here once an experiment's trials are in,
and the results come back in the order of ``plans``. One progress bar (on a terminal) counts the
trials and names those running; the trials themselves show none.

Ctrl-C: the workers run in process groups of their own, so a Ctrl-C at the terminal reaches this
process only; it starts no more trials and passes the signal on to the workers (a worker takes
it only while it runs a trial), where it does what it does in a sequential run: a trial that
takes checkpoints finishes its epoch (full-batch: its chunk of iterations), saves and stops; one
that takes none stops at once; a second Ctrl-C stops every trial at once. Once the running trials
have ended, the run raises checkpoint.Interrupted for the first trial that saved (the others in
its ``also``; the command line prints each checkpoint and its ``--resume`` command), or
KeyboardInterrupt when none saved. An exception in a trial stops the others the same way, then
is raised. results.json holds every experiment whose trials all ended.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from tqdm import tqdm

from . import catalog, pairing, runner, worker
from .catalog import EXPERIMENTS
from .checkpoint import Interrupted, sigint_saves
from .tblog import check_writable, claim_root


def check_jobs(text: str | None) -> int:
    """--jobs: the number of worker processes; None: one per core this process may run on."""
    if text is None:
        return len(os.sched_getaffinity(0))
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"--jobs must be an integer >= 1, got {text!r}")
    return int(text)


def run_experiments(plans: list, settings, jobs: int):
    """Yield the result of each (experiment, variant names or None for all, its data) of
    ``plans``, in order, run by ``jobs`` processes (module docstring); in this process when an
    experiment is not one a worker finds by its name (_declared)."""
    chosen = [(experiment, experiment.select(settings, names), data) for experiment, names, data in plans]
    workers = min(jobs, sum(len(selected) for _, selected, _ in chosen) * len(settings.impls))
    if workers <= 1 or not all(_declared(experiment) for experiment, _, _ in chosen):
        for experiment, names, data in plans:
            yield runner.run_experiment(experiment, settings, names, data)
        return
    yield from _Run(chosen, settings, workers).results()


def _declared(experiment) -> bool:
    """Whether ``experiment`` is its catalog module's EXPERIMENT, the one a worker's catalog holds
    under its name (not a stand-in a test put in EXPERIMENTS)."""
    module = sys.modules.get(f"{catalog.__name__}.{experiment.name}")
    return getattr(module, "EXPERIMENT", None) is experiment


def _work(name: str, settings, variant, impl: str, data, root, reference, context):
    """A worker's trial: runner.run_one without a progress bar, under sigint_saves; None when the
    run is stopping (a Ctrl-C that came before this trial took its handler)."""
    with sigint_saves():
        if worker.stop.is_set():
            return None
        return runner.configured(settings, lambda: runner.run_one(EXPERIMENTS[name], settings, variant, impl, data,
                                                                  root, reference, context, progress=False))


class _Run:
    """One parallel run of ``chosen`` [(experiment, its selected variants, its data)]. A task is
    (experiment index, variant index, impl); ``ran`` {task: runner.Ran} holds those done."""

    def __init__(self, chosen: list, settings, workers: int):
        self.chosen, self.settings, self.workers = chosen, settings, workers
        self.tasks = [(e, k, impl) for e, (_, selected, _) in enumerate(chosen) for k in range(len(selected))
                      for impl in settings.impls]
        self.ran, self.roots = {}, {}
        self.done = {}      # experiment index -> its result, until yielded
        self.yielded = 0    # the experiments whose results have been yielded

    def _needs(self, task) -> list:
        """The tasks whose Ran ``task`` reads: its NumPy reference, the previous variant's context."""
        e, k, impl = task
        reference = [(e, k, "numpy")] if impl == "torch" and "numpy" in self.settings.impls else []
        return reference + ([(e, k - 1, impl)] if k and self.chosen[e][0].shares_context else [])

    def _submit(self, executor, task):
        e, k, impl = task
        experiment, selected, data = self.chosen[e]
        if e not in self.roots:   # the experiment's fresh root, claimed when its first trial starts
            self.roots[e] = (claim_root(self.settings.logdir, experiment.name), time.time())
        previous = self.ran.get((e, k - 1, impl))
        context = previous.context if experiment.shares_context and previous else {}
        reference = self.ran.get((e, k, "numpy")) if impl == "torch" else None
        return executor.submit(_work, experiment.name, self.settings, selected[k], impl, data, self.roots[e][0],
                               reference, context)

    def _finished(self, e: int) -> dict:
        """Experiment ``e``'s result from its trials (runner.finish: saved in results.json)."""
        experiment, selected, data = self.chosen[e]
        rows = [pairing.pair_row(variant, {impl: self.ran[e, k, impl] for impl in self.settings.impls}, self.settings)
                for k, variant in enumerate(selected)]
        return runner.configured(self.settings, lambda: runner.finish(experiment, self.settings, data,
                                                                      self.roots[e][0], rows, self.roots[e][1]))

    def _label(self, task) -> str:
        e, k, impl = task
        return f"{self.chosen[e][0].name}/{self.chosen[e][1][k].name}/{impl}"

    def results(self):
        """The experiments' results, in order, as they complete (module docstring)."""
        check_writable(self.settings.logdir)
        spawn = multiprocessing.get_context("spawn")
        stop = spawn.Event()

        def interrupt(*_):
            stop.set()
            for child in multiprocessing.active_children():   # this process's workers
                os.kill(child.pid, signal.SIGINT)

        pending, running, stopped, errors = list(self.tasks), {}, [], []
        previous = signal.signal(signal.SIGINT, interrupt)
        bar = tqdm(total=len(self.tasks), desc="trials", unit="trial", disable=None, leave=False, dynamic_ncols=True)
        try:
            with ProcessPoolExecutor(self.workers, mp_context=spawn, initializer=worker.start,
                                     initargs=(stop,)) as executor:
                try:
                    while pending or running:
                        if not stop.is_set():
                            ready = [t for t in pending if all(n in self.ran for n in self._needs(t))]
                            for task in ready[:self.workers - len(running)]:
                                pending.remove(task)
                                running[self._submit(executor, task)] = task
                            bar.set_postfix_str(", ".join(map(self._label, running.values())))
                        if not running:
                            break
                        done, _ = wait(running, return_when=FIRST_COMPLETED)
                        for future in done:
                            task = running.pop(future)
                            try:
                                ran = future.result()
                            except Interrupted as saved:
                                stopped.append((task, saved))
                            except KeyboardInterrupt:
                                pass   # stopped by Ctrl-C where it took no checkpoint
                            except BaseException as error:   # raised once the others have stopped
                                errors.append(error)
                                interrupt()
                            else:
                                if ran is not None:
                                    self.ran[task] = ran
                                    bar.update(1)
                                    self._complete(task[0])
                        while self.yielded in self.done:
                            bar.clear()
                            yield self.done.pop(self.yielded)
                            self.yielded += 1
                finally:
                    if running:   # the caller stopped early: the running trials stop as at Ctrl-C
                        interrupt()
                        wait(running)
        finally:
            signal.signal(signal.SIGINT, previous)
            bar.close()
        if errors:
            raise errors[0]
        if stopped:
            first, *also = [saved for _, saved in sorted(stopped, key=lambda pair: self.tasks.index(pair[0]))]
            first.also = tuple(also)
            raise first
        if stop.is_set():
            raise KeyboardInterrupt

    def _complete(self, e: int) -> None:
        """Experiment ``e``'s result into ``done`` once all its trials have run."""
        if all((e, k, impl) in self.ran for k in range(len(self.chosen[e][1])) for impl in self.settings.impls):
            self.done[e] = self._finished(e)

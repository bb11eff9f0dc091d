"""python -m experiments view NAME [--logdir runs] [--port N]: TensorBoard on one experiment's runs.

Which runs: every ``run`` of an experiment writes a fresh root, <logdir>/<NAME>, then <NAME>-2,
-3, ... (tblog.claim_root: the first free name, so numbers need not follow time). ``view NAME``
serves the newest of those roots: the one whose event files were written last (a run still going,
or one just resumed, counts as the newest). TensorBoard's log directory is that root itself, so
its runs are <variant>/<impl> and each variant's chart (the custom-scalars layout written with
every run) holds exactly that variant's NumPy and torch curves; runs of other experiments and
older runs of this one are not shown. ``view NAME-K`` serves the root <NAME>-K instead (an older
run; NAME-1: the first root, <NAME> itself).

The server: TensorBoard's own program API (tensorboard.program.TensorBoard) in this process, on
127.0.0.1 only, on a free port the system picks (--port N: that port), with the Python event
reader (--load_fast false: no separate data-server process to leave behind). The URL is printed
on stdout; Ctrl-C (or SIGTERM) stops the server and exits with status 0. An unknown NAME, an
experiment with no runs under the log directory, a bad or busy port: a ValueError (cli: one
"error:" line, exit status 2).
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

HOST = "127.0.0.1"
EVENT_FILES = "events.out.tfevents.*"


def roots(logdir, name: str) -> list:
    """The roots of experiment ``name`` under ``logdir`` that hold at least one event file:
    <logdir>/<name> and <logdir>/<name>-K, in the order of their numbers."""
    logdir = Path(logdir)
    found = []
    if logdir.is_dir():
        pattern = re.compile(rf"{re.escape(name)}(?:-([0-9]+))?")
        for path in logdir.iterdir():
            match = pattern.fullmatch(path.name)
            if match and path.is_dir() and _last_written(path) is not None:
                found.append((int(match.group(1) or 1), path))
    return [path for _, path in sorted(found)]


def _last_written(root: Path) -> float | None:
    """The latest modification time of an event file under ``root``; None when it has none."""
    times = [p.stat().st_mtime for p in root.rglob(EVENT_FILES) if p.is_file()]
    return max(times) if times else None


def newest_root(logdir, name: str) -> Path | None:
    """The root of ``name`` whose event files were written last (ties: the higher number); None
    when it has no runs."""
    candidates = roots(logdir, name)
    if not candidates:
        return None
    return max(enumerate(candidates), key=lambda ic: (_last_written(ic[1]), ic[0]))[1]


def choose_root(logdir, name: str, experiments) -> tuple:
    """(experiment, root): the root ``view NAME`` serves, the newest root of experiment NAME, or
    the root NAME itself when NAME is <experiment>-K; a ValueError when NAME is unknown or has
    no runs."""
    logdir = Path(logdir)
    numbered = re.fullmatch(r"(.+)-([0-9]+)", name)
    if name not in experiments and numbered and numbered.group(1) in experiments:
        root = logdir / (numbered.group(1) if int(numbered.group(2)) == 1 else name)
        if root.is_dir() and _last_written(root) is not None:
            return numbered.group(1), root
        raise ValueError(f"no runs in {root} (python -m experiments view {numbered.group(1)} --logdir {logdir}: "
                         "its newest runs)")
    if name not in experiments:
        raise ValueError(f"unknown experiment {name!r}; choose from {list(experiments)} (python -m experiments list)")
    root = newest_root(logdir, name)
    if root is None:
        raise ValueError(f"no runs of {name} in {logdir}: run it first (python -m experiments run {name} "
                         f"--logdir {logdir})")
    return name, root


def _view_name(root: Path, experiment: str) -> str:
    """The NAME that ``view NAME`` serves ``root`` by: <experiment>-K, the first root <experiment>-1."""
    return f"{experiment}-1" if root.name == experiment else root.name


def check_port(text) -> int:
    """--port: an integer 0..65535 (0: a free port the system picks)."""
    if text is None:
        return 0
    if not str(text).isdigit() or int(text) > 65535:
        raise ValueError(f"--port must be an integer from 0 to 65535 (0: any free port), got {text!r}")
    return int(text)


def launch(root, port: int = 0) -> str:
    """Start TensorBoard on ``root`` (HOST, ``port``; 0: a free one) in a daemon thread of this
    process; its URL. A port it cannot bind is a ValueError."""
    from tensorboard import program   # imported on demand: the other commands never load it

    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", str(root), "--host", HOST, "--port", str(port),
                          "--load_fast", "false"])
    try:
        return board.launch()
    except program.TensorBoardServerException as error:
        raise ValueError(f"TensorBoard cannot serve on {HOST}:{port}: {error.msg}") from None


def serve(logdir, name: str, port, experiments) -> int:
    """``view``: start TensorBoard on the chosen root, print its URL and serve until Ctrl-C; 0."""
    experiment, root = choose_root(logdir, name, experiments)
    port = check_port(port)
    # Ctrl-C (and kill's SIGTERM) stop the server even where SIGINT came ignored (a background job)
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        url = launch(root, port)
        others = [_view_name(r, experiment) for r in roots(logdir, experiment) if r != root]
        print(f"TensorBoard on {root}" + (f" (other runs of {experiment}: {', '.join(others)}; view "
                                          f"{others[-1]} serves that one)" if others else ""))
        print(url, flush=True)
        print(f"NumPy and torch per variant: {url}#custom_scalars\nCtrl-C stops it", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("TensorBoard stopped", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _stop(signum, frame):
    raise KeyboardInterrupt

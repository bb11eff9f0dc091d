"""``python -m experiments view NAME`` serves the newest runs of one experiment, and a user sees each
variant's NumPy and torch curves in one chart.

One quick run of optimisers (two variants, about 10 s) goes into a log directory that already holds
an older run of optimisers and a newer run of another experiment (decoys, one scalar each). The
real command then starts TensorBoard on a free port (a subprocess, as a user starts it); its HTTP
API must list exactly the variant/impl runs of that newest root, tags <experiment>/<variant>/...
(experiments.tblog), and a custom-scalars layout whose chart of each variant draws exactly that
variant's two runs (the server's own /custom_scalars/scalars answers decide which runs a chart
draws). Headless Chromium renders the dashboard to a PNG of the window's size that is not blank;
with TWINPROP_UPDATE_SCREENSHOT=1 that PNG replaces docs/tensorboard_variant.png (the README's).
Chromium comes from the Debian packages (.ci/run installs it when absent); without it that test
skips and says why. Ctrl-C stops the server with status 0 and no traceback. Every wait is
bounded, and the server and Chromium are killed, with their process groups, whatever happens."""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from experiments import cli, view
from experiments.catalog import EXPERIMENTS

REPO = Path(__file__).resolve().parents[1]
EXPERIMENT, VARIANTS, IMPLS = "optimisers", ("gd", "adam"), ("numpy", "torch")
SCREENSHOT = REPO / "docs" / "tensorboard_variant.png"
UPDATE = "TWINPROP_UPDATE_SCREENSHOT"
WINDOW = (1400, 1000)
DAY = 24 * 3600


def write_events(run_dir: Path, tag: str, when: float) -> None:
    """One event file in ``run_dir`` with one scalar ``tag``, written (and dated) at ``when``."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(run_dir))
    value = summary_pb2.Summary.Value(tag=tag, simple_value=1.0)
    writer.add_event(event_pb2.Event(wall_time=when, step=0, summary=summary_pb2.Summary(value=[value])))
    writer.close()
    for path in run_dir.glob(view.EVENT_FILES):
        os.utime(path, (when, when))


def command(work: Path, *args) -> dict:
    """subprocess keywords for ``python -m experiments ARGS`` run as a user runs it: from a folder
    of their own, ``work``, where the default log directory ``runs`` is."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {"args": [sys.executable, "-m", "experiments", *map(str, args)], "cwd": work,
            "env": {**os.environ, "PYTHONPATH": path}}


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """<WORK>/runs: an older root of optimisers (a day old), a newer root of another experiment,
    and one quick run of optimisers' two VARIANTS, which claim_root puts in runs/optimisers-2."""
    logdir = tmp_path_factory.mktemp("work") / "runs"
    write_events(logdir / EXPERIMENT / "gd" / "numpy", f"{EXPERIMENT}/gd/cost/iteration", time.time() - DAY)
    done = subprocess.run(**command(logdir.parent, "run", EXPERIMENT, "--quick", "--device", "cpu",
                                    *(a for v in VARIANTS for a in ("--variant", v))),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    write_events(logdir / "batchnorm" / "plain" / "numpy", "batchnorm/plain/cost/iteration", time.time() + 60)
    return logdir


class View:
    """``python -m experiments view ARGS`` from ``work`` in a subprocess of its own process group,
    its output read by two threads (so a full pipe never blocks it)."""

    def __init__(self, work: Path, *args):
        self.process = subprocess.Popen(**command(work, "view", *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, start_new_session=True)
        self.lines, self.errors, self.queue = [], [], queue.Queue()
        self.readers = [threading.Thread(target=self._read, args=(stream, store), daemon=True)
                        for stream, store in ((self.process.stdout, self.lines), (self.process.stderr, self.errors))]
        for reader in self.readers:
            reader.start()

    def _read(self, stream, store):
        for line in stream:
            store.append(line)
            if store is self.lines:
                self.queue.put(line)

    def url(self, timeout: float = 60) -> str:
        """The http:// URL the command prints, within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, f"view exited {self.process.returncode}: {self.output()}"
                continue
            if re.fullmatch(r"http://127\.0\.0\.1:[0-9]+/", line.strip()):
                return line.strip()
        raise AssertionError(f"view printed no URL within {timeout} s: {self.output()}")

    def stop(self, sig=signal.SIGINT, timeout: float = 30) -> int:
        """Send ``sig`` to the process group (as a terminal's Ctrl-C does); its exit status."""
        os.killpg(self.process.pid, sig)
        status = self.process.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(timeout=10)
        return status

    def output(self) -> str:
        return "".join(self.lines) + "".join(self.errors)[-3000:]

    def kill(self) -> None:
        """Kill whatever is left of the process group and reap the process."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=10)
        finally:
            for stream in (self.process.stdout, self.process.stderr):
                stream.close()


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read().decode())


def expected_runs() -> set:
    return {f"{variant}/{impl}" for variant in VARIANTS for impl in IMPLS}


@pytest.fixture(scope="module")
def server(logdir):
    """(URL, the command's output) of ``view optimisers`` on ``logdir``, once its runs are loaded
    (at most 60 s); stopped with its process group at the end."""
    board = View(logdir.parent, EXPERIMENT)   # --logdir runs, the default
    try:
        url = board.url()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:   # the first load of the event files takes a moment
            if expected_runs() <= set(get_json(url + "data/plugin/scalars/tags")):
                break
            assert board.process.poll() is None, board.output()
            time.sleep(0.5)
        yield url, "".join(board.lines)
    finally:
        board.kill()


def test_view_serves_the_newest_runs_of_the_experiment(logdir, server):
    url, printed = server
    assert f"TensorBoard on runs/{EXPERIMENT}-2 (other runs of optimisers: optimisers-1; view " \
        "optimisers-1 serves that one)" in printed, printed
    assert set(get_json(url + "data/runs")) == expected_runs()
    tags = get_json(url + "data/plugin/scalars/tags")
    assert set(tags) == expected_runs()
    for run, run_tags in tags.items():
        variant = run.split("/")[0]
        assert f"{EXPERIMENT}/{variant}/cost/iteration" in run_tags, (run, sorted(run_tags))
        strays = [t for t in run_tags if not re.match(rf"{EXPERIMENT}/({re.escape(variant)}|hparams)/", t)]
        assert not strays, (run, strays)


def drawn_runs(url: str, chart: dict) -> set:
    """The runs a custom-scalars multiline chart draws: those for which the server's own
    /custom_scalars/scalars route (the frontend's) returns points for one of its tag regexes."""
    runs = set()
    for run in get_json(url + "data/runs"):
        for regex in chart["multiline"]["tag"]:
            query = urllib.parse.urlencode({"run": run, "tag": regex})
            answer = get_json(f"{url}data/plugin/custom_scalars/scalars?{query}")
            assert answer["regex_valid"], regex
            if any(answer["tag_to_events"].values()):
                runs.add(run)
    return runs


def test_each_variants_chart_holds_exactly_its_two_runs(server):
    url, _ = server
    layout = get_json(url + "data/plugin/custom_scalars/layout")
    assert layout.get("category"), f"no custom-scalars layout was written with the runs: {layout}"
    charts = [chart for category in layout["category"] for chart in category.get("chart", [])
              if "multiline" in chart]
    for variant in VARIANTS:
        cost = f"^{EXPERIMENT}/{variant}/cost/"
        mine = [chart for chart in charts if cost in chart["multiline"]["tag"]]
        assert len(mine) == 1, f"one chart of {cost} expected: {charts}"
        assert drawn_runs(url, mine[0]) == {f"{variant}/{impl}" for impl in IMPLS}, mine[0]
        divergence = [chart for chart in charts if f"^{EXPERIMENT}/{variant}/divergence/" in chart["multiline"]["tag"]]
        assert divergence, f"no divergence chart for {variant}: {charts}"
        assert drawn_runs(url, divergence[0]) <= {f"{variant}/{impl}" for impl in IMPLS}


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Chromium program; the test skips, saying why, before any run when there is none."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (.ci/run installs the Debian package when it can: "
                    "apt-get install -y chromium)")
    return found


def test_headless_chromium_renders_a_variants_chart(chromium, server, tmp_path):
    """The dashboard as a user opens it: the custom-scalars tab (each variant's NumPy and torch in
    one chart) when the runs carry a layout, else the scalars tab filtered to the first variant."""
    url, _ = server
    if get_json(url + "data/plugin/custom_scalars/layout").get("category"):
        page = url + "#custom_scalars"
    else:
        page = url + "#scalars&tagFilter=" + urllib.parse.quote(f"^{EXPERIMENT}/{VARIANTS[0]}/", safe="")
    png = tmp_path / "dashboard.png"
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
               "--hide-scrollbars", f"--screenshot={png}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
               "--virtual-time-budget=15000", page]
    shot = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        log, _ = shot.communicate(timeout=120)
    finally:
        try:
            os.killpg(shot.pid, signal.SIGKILL)   # its renderer and GPU processes too
        except ProcessLookupError:
            pass
        shot.wait(timeout=10)
    assert png.is_file(), f"chromium wrote no screenshot (exit {shot.returncode}): {log[-2000:]}"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(png) as image:
        image.verify()
    with Image.open(png) as image:
        assert image.size == WINDOW
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
    body = pixels[120:]   # below TensorBoard's header bar
    assert pixels.std() > 5 and body.std() > 5, f"a blank screenshot (std {pixels.std():.2f}, {body.std():.2f})"
    assert len(np.unique(body)) > 20, "the page below the header is nearly uniform: no chart drawn"
    if os.environ.get(UPDATE) == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(png, SCREENSHOT)


def test_ctrl_c_stops_the_server_cleanly(logdir):
    board = View(logdir.parent, EXPERIMENT, "--logdir", logdir)   # an absolute path this time
    try:
        url = board.url()
        assert get_json(url + "data/environment")["data_location"] == str(logdir / f"{EXPERIMENT}-2")
        assert board.stop(signal.SIGINT) == 0, board.output()
        assert "Traceback" not in board.output(), board.output()
        assert "TensorBoard stopped" in "".join(board.lines)
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=5)
    finally:
        board.kill()


def test_unknown_name_or_no_runs_is_one_error_line(tmp_path, capsys):
    assert cli.main(["view", "no_such_experiment", "--logdir", str(tmp_path)]) == cli.BAD_INPUT
    assert capsys.readouterr().err.startswith("error: unknown experiment 'no_such_experiment'")
    assert cli.main(["view", EXPERIMENT, "--logdir", str(tmp_path)]) == cli.BAD_INPUT
    assert capsys.readouterr().err.startswith(f"error: no runs of {EXPERIMENT} in {tmp_path}")
    assert cli.main(["view", f"{EXPERIMENT}-7", "--logdir", str(tmp_path)]) == cli.BAD_INPUT
    assert capsys.readouterr().err.startswith(f"error: no runs in {tmp_path / (EXPERIMENT + '-7')}")
    assert cli.main(["view", EXPERIMENT, "--logdir", str(tmp_path), "--port", "http"]) == cli.BAD_INPUT


def test_the_newest_root_is_the_last_written_not_the_highest_number(tmp_path):
    """claim_root takes the first free name: after optimisers was deleted, the next run is
    optimisers again though optimisers-3 exists; view follows the event files' times."""
    now = time.time()
    write_events(tmp_path / "optimisers-3" / "gd" / "numpy", "optimisers/gd/cost/iteration", now - DAY)
    write_events(tmp_path / "optimisers" / "gd" / "numpy", "optimisers/gd/cost/iteration", now)
    write_events(tmp_path / "optimisers_old" / "gd" / "numpy", "x/cost/iteration", now + DAY)   # not a root of it
    (tmp_path / "optimisers-4").mkdir()   # a root with no runs yet
    assert view.roots(tmp_path, EXPERIMENT) == [tmp_path / "optimisers", tmp_path / "optimisers-3"]
    assert view.choose_root(tmp_path, EXPERIMENT, EXPERIMENTS) == (EXPERIMENT, tmp_path / "optimisers")
    assert view.choose_root(tmp_path, "optimisers-3", EXPERIMENTS) == (EXPERIMENT, tmp_path / "optimisers-3")
    assert view.choose_root(tmp_path, "optimisers-1", EXPERIMENTS) == (EXPERIMENT, tmp_path / "optimisers")

"""The installable package: pyproject.toml, the ``twinprop`` command, the pytest plugin, and an install.

The command's dispatch and the plugin run in-process (the plugin through ``pytester``, as a user's own
suite loads it); ``test_pip_install_gives_the_command_and_the_plugin`` builds and installs the package
into a temporary virtual environment (offline: ``--no-deps --no-build-isolation``, the dependencies seen
through this interpreter's site-packages), about 15 s on 2 cores. scripts/package_check.sh (run by .ci/run)
does the full ``pip install .`` with every dependency from the index.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import venv
from pathlib import Path

import pytest

from parity_tests import twinprop
from parity_tests.checker.pytest_plugin import LayerCase, layer_case, parametrize_layers, run_check
from parity_tests.conftest import REPO

pytest_plugins = ("pytester",)

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
EXAMPLE = REPO / "examples" / "pytest_plugin_example"
PLUGIN = "parity_tests.checker.pytest_plugin"
PACKAGES = ("scratch_numpy", "reference_torch", "parity_tests", "experiments", "examples")
RELU = ["examples.relu:forward,backward", "--inputs", "Z=4x6", "--against", "torch.relu(Z)"]


# --- pyproject.toml --------------------------------------------------------------------------------------

def test_pyproject_names_the_command_the_plugin_the_packages_and_the_pins():
    project = PYPROJECT["project"]
    assert project["name"] == "twinprop"
    module, _, function = project["scripts"]["twinprop"].partition(":")
    assert getattr(importlib.import_module(module), function) is twinprop.main
    # The plugin's entry point is named by its module: `-p MODULE` and the entry point are one plugin.
    assert project["entry-points"]["pytest11"] == {PLUGIN: PLUGIN}
    importlib.import_module(PLUGIN)
    # One pin list: the dependencies are requirements.txt (torch==2.13.0 and the rest exactly as there).
    assert "dependencies" in project["dynamic"] and "dependencies" not in project
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    assert "torch==2.13.0" in (REPO / "requirements.txt").read_text().split()
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert all(name in include or f"{name}*" in include for name in PACKAGES)
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["experiments"]
    shipped = {p.relative_to(REPO / "experiments") for p in (REPO / "experiments" / "data").iterdir()}
    assert shipped == {p.relative_to(REPO / "experiments") for pattern in data
                       for p in (REPO / "experiments").glob(pattern)}


# --- the twinprop command --------------------------------------------------------------------------------

def test_help_lists_every_command_without_loading_torch(capsys):
    assert twinprop.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {name} " in out for name in twinprop.COMMANDS)
    # `twinprop --help` stays instant: neither torch nor NumPy is imported for it.
    code = ("import sys; from parity_tests.twinprop import main; main(['--help']); "
            "assert not {'torch', 'numpy'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, timeout=60)


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys):
    assert twinprop.main([]) == 2
    assert "usage: twinprop" in capsys.readouterr().out
    assert twinprop.main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
    assert twinprop.main(["examples", "--verbose"]) == 2


@pytest.mark.parametrize("name", ["check", "report", "mutants", "experiments"])
def test_each_command_hands_its_arguments_to_its_module(name, monkeypatch):
    module = importlib.import_module(twinprop.COMMANDS[name][0])
    seen = []
    monkeypatch.setattr(module, "main", lambda argv: seen.append(argv) or 7)
    assert twinprop.main([name, "--dtype", "float32", "x"]) == 7
    assert seen == [["--dtype", "float32", "x"]]


def test_examples_runs_python_m_examples(monkeypatch):
    module = importlib.import_module("examples.__main__")
    monkeypatch.setattr(module, "main", lambda: 3)
    assert twinprop.main(["examples"]) == 3


def test_check_is_the_checker_with_its_exit_status(capsys):
    assert twinprop.main(["check", *RELU]) == 0
    assert "0 of 4 tensors failed" in capsys.readouterr().out
    assert twinprop.main(["check", "examples.relu:forward,backward_strict_mask", *RELU[1:]]) == 1
    assert "dZ (at kinks)" in capsys.readouterr().out
    assert twinprop.main(["check", "--help"]) == 0  # argparse's exit, returned rather than raised
    assert "--against" in capsys.readouterr().out
    assert twinprop.main(["check", "examples.relu:forward,backward"]) == 2  # no arrays: a usage error


def test_check_optimizer_is_the_rule_checker_with_its_exit_status(capsys):
    target = ["--rule", "adam", "--lr", "0.01", "--steps", "1,3"]
    assert twinprop.main(["check-optimizer", "examples/optimizers.py:adam_update", *target]) == 0
    assert twinprop.main(["check-optimizer", "examples/optimizers.py:adam_eps_before_correction", *target]) == 1
    assert "eps_before_correction" in capsys.readouterr().out
    assert twinprop.main(["check-optimizer", "examples/optimizers.py:no_such_rule", *target]) == 2


def test_experiments_list_runs_in_process(capsys):
    assert twinprop.main(["experiments", "list"]) == 0
    assert "autograd_basics" in capsys.readouterr().out


# --- the pytest plugin -----------------------------------------------------------------------------------

def _user_suite(pytester) -> None:
    """The plugin example's files in pytester's empty folder, as in a user's project."""
    for path in EXAMPLE.glob("*.py"):
        shutil.copy(path, pytester.path / path.name)


def _pytest(pytester, *args):
    """pytest in-process with the plugin loaded as from a source tree (-p); this session imported the plugin
    already, so pytest's note that it cannot rewrite its asserts is silenced."""
    return pytester.runpytest_inprocess("-p", PLUGIN, "-p", "no:cacheprovider",
                                        "-W", "ignore::pytest.PytestAssertRewriteWarning", *args)


def test_the_plugin_example_passes(pytester):
    _user_suite(pytester)
    result = _pytest(pytester)
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*test_my_layers.py*"])


def test_the_readme_three_lines_run(pytester):
    """The README's Install section shows the three lines; they run as shown."""
    section = (REPO / "README.md").read_text().split("### Install", 1)[1].split("\n##", 1)[0]
    block = next(b for b in section.split("```python\n")[1:] if "check_layer" in b).split("```", 1)[0]
    assert len([line for line in block.splitlines() if line.strip() and not line.startswith("#")]) <= 4
    _user_suite(pytester)
    pytester.makepyfile(test_readme_lines=block)
    _pytest(pytester, "test_readme_lines.py").assert_outcomes(passed=1)


def test_a_mismatch_fails_with_the_checkers_report(pytester):
    _user_suite(pytester)
    pytester.makepyfile(test_slip="""
        from my_layers import relu_backward_strict_mask, relu_forward

        def test_relu(check_layer):
            check_layer(relu_forward, relu_backward_strict_mask, inputs={"Z": (4, 6)}, against="torch.relu(Z)")
    """)
    result = _pytest(pytester, "test_slip.py")
    result.assert_outcomes(failed=1)
    result.stdout.re_match_lines([r"E +AssertionError: parity: relu_forward \[float64\] - 1 of 4 tensors failed",
                                  r"E +dZ \(at kinks\) .* FAIL at ", r"E +Not equal to tolerance"])
    # The traceback ends at the test's own line, not inside the checker.
    assert "def assert_passed" not in result.stdout.str()


def test_the_device_option_reaches_the_check(pytester):
    pytester.makepyfile(test_device="""
        def test_relu(check_layer):
            report = check_layer("examples.relu:forward,backward", inputs={"Z": "4x6"}, against="torch.relu(Z)")
            assert report.passed
    """)
    _pytest(pytester, "--twinprop-device", "cpu").assert_outcomes(passed=1)
    result = _pytest(pytester, "--twinprop-device", "gpu")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_run_check_reads_what_the_command_line_reads():
    report = run_check("examples.relu:forward,backward", inputs={"Z": "4x6"}, against="torch.relu(Z)")
    assert report.passed and report.label == "examples.relu:forward,backward"
    assert "dZ (at kinks)" in [d.name for d in report.diffs]  # the kink probe, on as in the CLI
    from examples.relu import backward, forward
    plain = run_check(forward, backward, inputs={"Z": (4, 6)})  # no oracle: finite differences alone
    assert plain.passed and [d.name for d in plain.diffs] == ["dZ (finite differences)"]
    with pytest.raises(ValueError, match="arrays to differentiate"):
        run_check(forward, backward, against="torch.relu(Z)")
    with pytest.raises(TypeError, match="not both"):
        run_check("examples.relu:forward,backward", backward, inputs={"Z": (4, 6)})


def test_parametrize_layers_makes_one_test_per_case():
    from examples.relu import backward, forward
    mark = parametrize_layers(layer_case(forward, backward, inputs={"Z": (2, 3)}),
                              layer_case("examples.relu:forward,backward", inputs={"Z": (2, 3)}),
                              layer_case(forward, backward, inputs={"Z": (2, 3)}, id="mine"))
    argname, params = mark.args
    assert argname == "layer" and [p.id for p in params] == ["forward", "forward-backward", "mine"]
    assert all(isinstance(p.values[0], LayerCase) for p in params)
    with pytest.raises(ValueError, match="at least one"):
        parametrize_layers()
    with pytest.raises(TypeError, match="the case alone"):
        run_check(params[0].values[0], inputs={"Z": (2, 3)})


# --- an install ------------------------------------------------------------------------------------------

def _build_backend_missing() -> str | None:
    if importlib.util.find_spec("setuptools") is None:
        return f"the build backend is unavailable offline: setuptools is not installed in {sys.prefix}"
    import setuptools
    if tuple(int(part) for part in setuptools.__version__.split(".")[:2]) < (70, 1):
        return f"setuptools {setuptools.__version__} is older than pyproject.toml's setuptools>=70.1"
    return None


def test_pip_install_gives_the_command_and_the_plugin(tmp_path):
    """Build and install the package (not editable) into a new venv, then use it from a folder outside
    the project: `twinprop --help`, the modules imported from the install, the plugin example by plain
    pytest (its entry point). Offline: --no-index --no-deps --no-build-isolation, with this interpreter's
    site-packages (torch, setuptools, pytest) added to the venv by a .pth file, after the venv's own."""
    if reason := _build_backend_missing():
        pytest.skip(reason)
    start = time.perf_counter()
    source, env_dir, user = tmp_path / "src", tmp_path / "venv", tmp_path / "user"
    source.mkdir()
    for name in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in PACKAGES:
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "_twinprop_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env["OPENBLAS_NUM_THREADS"] = "1"

    def run(*args, cwd=user):
        return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300)

    installed = run(python, "-m", "pip", "install", "--no-index", "--no-deps", "--no-build-isolation",
                    "--ignore-installed", "--disable-pip-version-check", source, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    built = time.perf_counter() - start

    shutil.copytree(EXAMPLE, user, ignore=shutil.ignore_patterns("__pycache__"))
    helped = run(env_dir / "bin" / "twinprop", "--help")
    assert helped.returncode == 0 and all(f"  {name} " in helped.stdout for name in twinprop.COMMANDS)
    where = run(python, "-c", "import parity_tests, experiments.datasets as d; print(parity_tests.__file__); "
                              "print(sorted(p.name for p in d.SHIPPED.glob('*.h5')))")
    assert where.stdout.splitlines()[0].startswith(purelib), where.stdout + where.stderr
    assert where.stdout.splitlines()[1] == str(sorted(p.name for p in (REPO / "experiments/data").glob("*.h5")))
    tested = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert tested.returncode == 0 and "5 passed" in tested.stdout, tested.stdout + tested.stderr
    print(f"install {built:.1f} s, install and use {time.perf_counter() - start:.1f} s")

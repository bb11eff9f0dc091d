"""The README's "Check your own backward pass" section runs as written and prints what it shows."""

import contextlib
import io
import re

from parity_tests.conftest import REPO


def readme_section() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("## Check your own backward pass", 1)[1]
    return re.split(r"\n## ", section, maxsplit=1)[0]


def test_readme_python_blocks_run_and_print_what_is_shown():
    """Every python block runs, in order, in one namespace; a plain block right after one is its output."""
    blocks = re.findall(r"```(\w*)\n(.*?)```", readme_section(), re.S)
    namespace, checked = {}, 0
    for (language, code), (next_language, shown) in zip(blocks, blocks[1:] + [("end", "")]):
        if language != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README", "exec"), namespace)
        if next_language == "":
            assert out.getvalue() == shown
            checked += 1
    assert checked >= 2

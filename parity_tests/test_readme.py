"""The README's worked example runs as written."""

import re

from parity_tests.conftest import REPO


def test_readme_check_your_own_backward_pass_example(capsys):
    text = (REPO / "README.md").read_text()
    section = text.split("## Check your own backward pass", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "dW" in printed and "FAIL" in printed.upper()

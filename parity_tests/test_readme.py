"""The README's "Check your own backward pass" and "Check your own update rule" sections run as written and
print what they show.

What it shows is one CPU's output. Another CPU (AVX2 vs AVX512, another OpenBLAS or ATen kernel) sums in
another order, so the last digits of the numbers differ: an error of ``0.00e+00`` on one is ``4.44e-16`` on
the next, and a value printed in full may move by an ulp. The output is therefore compared as text with its
numbers taken out, which must match exactly (tensor names, shapes, counts, indices, verdicts, hints, ``inf``),
and as numbers, each within the float64 tolerance of ``comparison.TOLERANCES`` (see ``same_output``).
"""

import contextlib
import io
import re

import pytest

from parity_tests.checker.comparison import TOLERANCES
from parity_tests.conftest import REPO

# A decimal number with a fraction or an exponent ("4.44e-16", "-0.4862498533406661"), not part of a word
# ("float64") or of an integer: integers (shapes, counts, indices, m) stay in the text and must match exactly.
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d+(?:e[-+]?\d+)?|\d+e[-+]?\d+)(?![\w.])")
PLACEHOLDER = "#"


# The sections whose python blocks run as written (each block's output, when shown, is compared)
SECTIONS = ("## Check your own backward pass", "## Check your own update rule")


def readme_section(heading: str) -> str:
    text = (REPO / "README.md").read_text()
    section = text.split(heading + "\n", 1)[1]
    return re.split(r"\n## ", section, maxsplit=1)[0]


def _skeleton(text: str) -> list[str]:
    """The lines with every number replaced by a placeholder and runs of spaces collapsed (a column's
    padding follows the width of the numbers in it)."""
    return [re.sub(r" +", " ", NUMBER.sub(PLACEHOLDER, line)).rstrip() for line in text.splitlines()]


def _half_unit(token: str) -> float:
    """Half a unit in the last printed digit: the rounding a printed number may carry (0 for an exact 0)."""
    mantissa, _, exponent = token.lower().partition("e")
    if float(mantissa) == 0:
        return 0.0
    digits = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - digits)


def same_output(printed: str, shown: str) -> str | None:
    """None when ``printed`` is ``shown`` up to the last digits a CPU may change, else why not.

    The text without its numbers must be the same line for line. Each number must be within
    ``atol_scale * scale`` of the one shown, the float64 pass rule's absolute term, where ``scale`` is the
    largest magnitude shown in the block (at least 1, the scale of the standard-normal draws); so an error
    near machine epsilon (0 on one CPU, 4.44e-16 on another) counts as zero, a value printed in full may
    move by a few ulps, and a printed number may also differ by its rounding (half a unit in the last
    digit, each side). A change of verdict, hint, shape, failing tensor or magnitude does not pass.
    """
    if _skeleton(printed) != _skeleton(shown):
        for i, (p, s) in enumerate(zip(_skeleton(printed) + ["<end>"], _skeleton(shown) + ["<end>"])):
            if p != s:
                return f"line {i + 1} differs beyond its numbers:\n  printed: {p}\n  shown:   {s}"
        return "the lines differ beyond their numbers"
    got = NUMBER.findall(printed)
    want = NUMBER.findall(shown)
    scale = max([1.0, *(abs(float(w)) for w in want)])
    atol = TOLERANCES["float64"].atol_scale * scale
    for p, s in zip(got, want):
        if not abs(float(p) - float(s)) <= atol + _half_unit(p) + _half_unit(s):
            return f"printed {p} where the README shows {s} (allowed: {atol:.1e} + the rounding of each)"
    return None


@pytest.mark.parametrize("heading", SECTIONS)
def test_readme_python_blocks_run_and_print_what_is_shown(heading):
    """Every python block of the section runs, in order, in one namespace; a plain block right after one
    is its output."""
    blocks = re.findall(r"```(\w*)\n(.*?)```", readme_section(heading), re.S)
    namespace, checked = {}, 0
    for (language, code), (next_language, shown) in zip(blocks, blocks[1:] + [("end", "")]):
        if language != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README", "exec"), namespace)
        if next_language == "":
            problem = same_output(out.getvalue(), shown)
            assert problem is None, f"{problem}\n\nprinted:\n{out.getvalue()}\nREADME shows:\n{shown}"
            checked += 1
    assert checked >= 2


SHOWN = """\
parity: unnamed [float64] - 1 of 4 tensors failed
tensor   shape   max abs   max rel   verdict
------   -----   -------   -------   -------
out      (3, 8)  0.00e+00  0.00e+00  ok
dW       (3, 4)  3.40e+00  8.75e-01  FAIL at (2, 2): actual 3.8899988267253285 vs expected 0.4862498533406661 (actual = 8 x expected everywhere (m = 8, the batch size): the 1/m is missing)
db       (3, 1)  2.78e-17  5.79e-16  ok

dW: 12 of 12 elements outside tolerance, worst first:
  index   actual               expected
  (2, 2)  3.8899988267253285   0.4862498533406661
"""


@pytest.mark.parametrize("printed", [
    SHOWN,
    SHOWN.replace("out      (3, 8)  0.00e+00  0.00e+00", "out      (3, 8)  4.44e-16  2.92e-16"),
    SHOWN.replace("2.78e-17  5.79e-16", "0.00e+00  0.00e+00"),
    SHOWN.replace("3.8899988267253285   0.4862498533406661", "3.889998826725329   0.48624985334066606"),
    SHOWN.replace("actual 3.8899988267253285", "actual 3.889998826725329"),
    SHOWN.replace("8.75e-01", "8.74e-01"),  # 0.8745 and 0.8750 print so: one unit of rounding
], ids=["same", "eps errors", "eps to zero", "ulps in full", "ulp in verdict", "rounding"])
def test_same_output_allows_what_a_cpu_changes(printed):
    assert same_output(printed, SHOWN) is None


@pytest.mark.parametrize("printed", [
    SHOWN.replace("(3, 8)  0.00e+00  0.00e+00  ok", "(3, 8)  0.00e+00  0.00e+00  FAIL"),
    SHOWN.replace("1 of 4 tensors", "2 of 4 tensors"),
    SHOWN.replace("dW       (3, 4)", "dW       (4, 3)"),
    SHOWN.replace("dW       (3, 4)", "db       (3, 4)"),
    SHOWN.replace("the 1/m is missing", "an extra 1/m"),
    SHOWN.replace("FAIL at (2, 2)", "FAIL at (2, 0)"),
    SHOWN.replace("3.40e+00", "3.40e-01"),
    SHOWN.replace("3.40e+00", "3.42e+00"),
    SHOWN.replace("0.00e+00  0.00e+00", "1.00e-09  0.00e+00"),
    SHOWN.replace("actual 3.8899988267253285", "actual -3.8899988267253285"),
    SHOWN.replace("0.4862498533406661\n", "0.4862498538406661\n"),
    SHOWN.replace("db       (3, 1)  2.78e-17  5.79e-16  ok\n", ""),
    SHOWN + "\nnote\n",
    "",
], ids=["verdict", "count", "shape", "tensor", "hint", "index", "magnitude", "3 digits", "not zero", "sign",
        "value", "row dropped", "line added", "nothing"])
def test_same_output_rejects_a_changed_report(printed):
    assert same_output(printed, SHOWN) is not None

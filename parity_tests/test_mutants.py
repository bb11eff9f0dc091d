"""The mutation proof (parity_tests.mutants): every parity-report row fails under every realistic bug
planted for it, on the NumPy side and on the torch side, in both dtypes."""

import pytest

from parity_tests import mutants
from parity_tests.report import DTYPES
from parity_tests.twins import CONCEPTS
from parity_tests.twins.mutant import applies

ROWS = mutants.rows()


def test_every_row_has_a_mutant_on_both_sides():
    assert [(label, mutants.missing_sides(ms)) for label, _, ms in ROWS if mutants.missing_sides(ms)] == []


def test_every_mutants_key_names_a_row_of_its_module():
    stale = [(concept.__name__, key) for concept in CONCEPTS for key in concept.MUTANTS
             if not any(applies(key, label) for label, _ in concept.CASES)]
    assert stale == []


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("label, case, row_mutants", ROWS, ids=[label for label, _, _ in ROWS])
def test_row_kills_its_mutants(label, case, row_mutants, dtype):
    outcomes = [mutants.attack(label, case, mutant, dtype) for mutant in row_mutants]
    survivors = [(o.mutant.side, o.mutant.description) for o in outcomes if not o.killed]
    assert survivors == []

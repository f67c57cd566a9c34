"""The optimiser's boundary probes where the likelihood cannot be computed far out."""

from __future__ import annotations

import numpy as np

from pipeline import btyd_mle


def _found(objective, x) -> btyd_mle.Optimum:
    x = np.asarray(x, dtype=float)
    return btyd_mle.Optimum(x, objective(x), 0.0, (False, False), (False, False), "test")


def falling_then_overflowing(x):
    """Falls for ever along x[1] (its infimum is at infinity), but cannot be computed
    past x[1] = 2 -- as Pareto/NBD's likelihood overflows far along its dropout ridge."""
    return np.nan if x[1] > 2.0 else x[0] ** 2 + np.exp(-x[1])


def bowl_then_overflowing(x):
    """A minimum at (0, 1.5), and no value past x[1] = 2."""
    return np.nan if x[1] > 2.0 else x[0] ** 2 + (x[1] - 1.5) ** 2


def test_a_probe_that_overflows_is_shortened_until_it_can_be_computed():
    # PROBE (5) and its halvings down to 0.625 land past 2: no value; 0.3125 out, the
    # objective has fallen by exp(-1.5) - exp(-1.8125) > 0: the minimum lies further out
    found = btyd_mle._probed(
        falling_then_overflowing, _found(falling_then_overflowing, [0, 1.5]), (), ()
    )
    assert found.at_upper == (False, True) and found.at_lower == (False, False)


def test_an_interior_minimum_is_not_marked_though_probes_overflow():
    found = btyd_mle._probed(bowl_then_overflowing, _found(bowl_then_overflowing, [0, 1.5]), (), ())
    assert found.at_upper == (False, False) and found.at_lower == (False, False)


def test_no_value_at_any_probe_length_marks_nothing():
    # 1.99 + 5 / 2^5 = 2.146 > 2: every probe up overflows
    start = _found(falling_then_overflowing, [0, 1.99])
    found = btyd_mle._probed(falling_then_overflowing, start, (), ())
    assert found.at_upper == (False, False)

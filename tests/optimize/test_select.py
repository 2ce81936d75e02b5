"""The choice of optimize: never a candidate over a limit, the most accurate (on val) of those that fit, the drop
measured on test and flagged when above --max-drop; Pareto fronts."""
import pytest

from tinycore.budget import Budget
from tinycore.errors import BudgetError
from tinycore.optimize.select import choose, pareto_front

BUDGET = Budget(1000, 5000)


def _c(val, test, arena, flash):
    return {"val_accuracy": val, "accuracy": test, "arena_bytes": arena, "flash_bytes": flash}


def test_a_candidate_over_the_limits_is_never_chosen():
    cands = [_c(0.99, 0.99, 1001, 100), _c(0.98, 0.98, 10, 5001), _c(0.90, 0.91, 1000, 5000), _c(0.80, 0.8, 5, 5)]
    ch = choose(cands, BUDGET, user_accuracy=0.92, max_drop_points=2.0)
    assert ch.index == 2
    assert ch.drop_points == pytest.approx(1.0) and ch.within_drop


def test_selection_on_val_drop_on_test_and_nearest_is_flagged():
    cands = [_c(0.70, 0.75, 10, 10), _c(0.72, 0.71, 10, 20)]
    ch = choose(cands, BUDGET, user_accuracy=0.80, max_drop_points=1.84)
    assert ch.index == 1                               # better on val, although worse on test
    assert ch.drop_points == pytest.approx(9.0) and not ch.within_drop


def test_ties_prefer_less_flash_then_less_arena():
    cands = [_c(0.9, 0.9, 50, 300), _c(0.9, 0.9, 40, 200), _c(0.9, 0.9, 30, 200)]
    assert choose(cands, BUDGET, 0.9, 1.0).index == 2


def test_nothing_fits_is_a_budget_error():
    with pytest.raises(BudgetError, match="none of the 1 trained candidates fits"):
        choose([_c(0.9, 0.9, 2000, 1)], BUDGET, 0.9, 1.0)


def test_pareto_front():
    pts = [(10, 0.5), (20, 0.7), (15, 0.4), (30, 0.7), (25, 0.9), (5, 0.2)]
    assert pareto_front(pts) == [5, 0, 1, 4]

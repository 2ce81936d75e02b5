"""Which trained candidate `optimize` keeps, and the Pareto fronts it reports. Torch-free.

A candidate over any limit (arena, Flash) is never chosen, whatever its accuracy. Among those that fit, the most
accurate on the validation split is kept (ties: less Flash, then less arena), so the test split only measures; it
is `within_drop` when its test accuracy is at most `max_drop_points` below the user's model, else it is still the
nearest and the report flags it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from tinycore.budget import Budget
from tinycore.errors import BudgetError


@dataclass(frozen=True)
class Choice:
    index: int               # into the candidate list
    drop_points: float       # user accuracy - candidate accuracy, in percentage points
    within_drop: bool


def fits(c: dict[str, Any], budget: Budget) -> bool:
    return budget.fits(int(c["arena_bytes"]), int(c["flash_bytes"]))


def choose(candidates: Sequence[dict[str, Any]], budget: Budget, user_accuracy: float,
           max_drop_points: float) -> Choice:
    """candidates: dicts with val_accuracy and accuracy (test; 0..1), arena_bytes, flash_bytes."""
    ok = [i for i, c in enumerate(candidates) if fits(c, budget)]
    if not ok:
        raise BudgetError(f"optimize: none of the {len(candidates)} trained candidates fits the limits "
                          f"(arena <= {budget.sram_bytes:,} B, Flash <= {budget.flash_bytes:,} B)")
    best = min(ok, key=lambda i: (-float(candidates[i]["val_accuracy"]), candidates[i]["flash_bytes"],
                                  candidates[i]["arena_bytes"]))
    drop = round(100.0 * (user_accuracy - float(candidates[best]["accuracy"])), 4)
    return Choice(best, drop, drop <= max_drop_points)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points (cost, accuracy) no other point beats: cost no higher and accuracy no lower, one of
    them strictly. Sorted by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front

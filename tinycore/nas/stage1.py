"""Stage 1, search-space optimization (MCUNet, Lin et al. 2020, sec. 3.1): pick the width W and resolution R
whose subnets that FIT the budget have the most compute, as a proxy for the accuracy the space can reach.

For each (W, R): sample subnets uniformly (plus the smallest and largest), compute their exact int8 arena and
Flash (tinycore.nas.cost), keep those within budget and summarise their MACs distribution (the CDF plotted by
`plot_stage1_cdf`). Rule: among spaces where at least `min_fit_share` of the samples fit, take the highest mean
MACs of the fitting subnets; when no space reaches that share, the highest mean MACs among spaces where anything
fits (marked `fallback`). Torch-free.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from tinycore.budget import Budget
from tinycore.errors import BudgetError
from tinycore.nas.cost import SubnetCost, subnet_cost
from tinycore.nas.space import Arch, SearchSpace


@dataclass(frozen=True)
class SpaceSamples:
    width: float
    resolution: int
    arena_bytes: tuple[int, ...]
    flash_bytes: tuple[int, ...]
    macs: tuple[int, ...]

    def fit_mask(self, budget: Budget) -> np.ndarray:
        a, f, m = (np.asarray(v, dtype=np.int64) for v in (self.arena_bytes, self.flash_bytes, self.macs))
        ok = (a <= budget.sram_bytes) & (f <= budget.flash_bytes)
        return ok & (m <= budget.macs) if budget.macs is not None else ok


@dataclass(frozen=True)
class SpaceRow:
    width: float
    resolution: int
    n_samples: int
    n_fit: int
    fit_share: float
    mean_macs_fit: float       # 0 when nothing fits
    median_macs_fit: float
    max_macs_fit: int
    min_arena_bytes: int       # smallest among the samples (the smallest subnet is always sampled)
    min_flash_bytes: int


@dataclass(frozen=True)
class Stage1Result:
    budget: Budget
    rows: tuple[SpaceRow, ...]
    width: float
    resolution: int
    rule: str
    fallback: bool
    samples: tuple[SpaceSamples, ...] = field(repr=False, default=())

    def to_dict(self) -> dict[str, Any]:
        return {"budget": self.budget.to_dict(), "choice": {"width": self.width, "resolution": self.resolution},
                "rule": self.rule, "fallback": self.fallback, "rows": [asdict(r) for r in self.rows],
                "samples": [asdict(s) for s in self.samples]}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Stage1Result":
        samples = tuple(SpaceSamples(s["width"], s["resolution"], tuple(s["arena_bytes"]), tuple(s["flash_bytes"]),
                                     tuple(s["macs"])) for s in d["samples"])
        return Stage1Result(Budget(**d["budget"]), tuple(SpaceRow(**r) for r in d["rows"]), d["choice"]["width"],
                            d["choice"]["resolution"], d["rule"], d["fallback"], samples)


def arch_cost(space: SearchSpace, arch: Arch) -> SubnetCost:
    return subnet_cost(space.to_spec(arch, name=space.name))


# arch -> its memory as deployed (.arena_bytes, .flash_bytes, .macs): arch_cost, or the smallest patched arena of a
# joint network + patch-plan search (tinycore.nas.joint.JointCostModel.smallest)
CostFn = Callable[[Arch], Any]


def sample_space(space: SearchSpace, width: float, resolution: int, n: int, rng: np.random.Generator,
                 cost: CostFn | None = None) -> SpaceSamples:
    """Costs of the smallest, the largest and n - 2 uniformly random subnets at (width, resolution)."""
    archs = [space.smallest(width, resolution), space.largest(width, resolution)]
    archs += [space.sample(rng, width, resolution) for _ in range(max(n - 2, 0))]
    costs = [cost(a) if cost is not None else arch_cost(space, a) for a in archs]
    return SpaceSamples(float(width), int(resolution), tuple(c.arena_bytes for c in costs),
                        tuple(c.flash_bytes for c in costs), tuple(c.macs for c in costs))


def sample_all(space: SearchSpace, n: int, rng: np.random.Generator,
               cost: CostFn | None = None) -> tuple[SpaceSamples, ...]:
    return tuple(sample_space(space, w, r, n, rng, cost) for w in space.widths for r in space.resolutions)


def summarize(s: SpaceSamples, budget: Budget) -> SpaceRow:
    ok = s.fit_mask(budget)
    macs = np.asarray(s.macs, dtype=np.int64)[ok]
    return SpaceRow(s.width, s.resolution, len(s.macs), int(ok.sum()), float(ok.mean()),
                    float(macs.mean()) if macs.size else 0.0, float(np.median(macs)) if macs.size else 0.0,
                    int(macs.max()) if macs.size else 0, int(min(s.arena_bytes)), int(min(s.flash_bytes)))


def smallest_error(space: SearchSpace, budget: Budget, what: str, cost: CostFn | None = None) -> BudgetError:
    """BudgetError naming the smallest SRAM and Flash any subnet of the space needs."""
    best_a = best_f = None
    for w in space.widths:
        for r in space.resolutions:
            a = space.smallest(w, r)
            c = cost(a) if cost is not None else arch_cost(space, a)
            if best_a is None or c.arena_bytes < best_a[0]:
                best_a = (c.arena_bytes, w, r)
            if best_f is None or c.flash_bytes < best_f[0]:
                best_f = (c.flash_bytes, w, r)
    macs = f", MACs limit {budget.macs:,}" if budget.macs is not None else ""
    return BudgetError(
        f"{what}: no subnet of search space '{space.name}' fits SRAM {budget.sram_bytes:,} B / Flash "
        f"{budget.flash_bytes:,} B{macs}. The smallest achievable SRAM is {best_a[0]:,} B (W{best_a[1]:g} "
        f"R{best_a[2]}) and the smallest achievable Flash is {best_f[0]:,} B (W{best_f[1]:g} R{best_f[2]}), both "
        f"with kernel {min(space.kernels)}, expand {min(space.expands)}, the smallest depths. Raise --sram/--flash "
        f"or give the space smaller widths/resolutions.")


def choose(rows: list[SpaceRow], min_fit_share: float) -> tuple[SpaceRow, bool]:
    eligible = [r for r in rows if r.fit_share >= min_fit_share and r.n_fit > 0]
    fallback = not eligible
    if fallback:
        eligible = [r for r in rows if r.n_fit > 0]
    return max(eligible, key=lambda r: (r.mean_macs_fit, r.fit_share, -r.width, -r.resolution)), fallback


def optimize_space(space: SearchSpace, budget: Budget, samples_per_space: int, rng: np.random.Generator,
                   min_fit_share: float = 0.2, samples: tuple[SpaceSamples, ...] | None = None,
                   cost: CostFn | None = None) -> Stage1Result:
    """Stage 1 for one budget; `samples` (from sample_all) may be reused across budgets. `cost` replaces the
    unpatched arena (e.g. by the smallest patched one, so that patches widen the (W, R) that fit)."""
    samples = samples if samples is not None else sample_all(space, samples_per_space, rng, cost)
    rows = [summarize(s, budget) for s in samples]
    if not any(r.n_fit for r in rows):
        raise smallest_error(space, budget, "stage 1", cost)
    best, fallback = choose(rows, min_fit_share)
    rule = (f"highest mean MACs of the fitting subnets among (W, R) with >= {min_fit_share:.0%} of "
            f"{samples_per_space} samples fitting" + (" (no space reached that share: among any that fit)"
                                                       if fallback else ""))
    return Stage1Result(budget, tuple(rows), best.width, best.resolution, rule, fallback, samples)


def budget_grid(space: SearchSpace, srams: list[int], flashes: list[int], samples_per_space: int,
                rng: np.random.Generator, min_fit_share: float = 0.2,
                cost: CostFn | None = None) -> list[dict[str, Any]]:
    """Best (W, R) for every SRAM x Flash budget (MCUNet fig. 3 style); samples are drawn once and reused."""
    samples = sample_all(space, samples_per_space, rng, cost)
    out = []
    for sram in srams:
        for flash in flashes:
            budget = Budget(sram, flash)
            rows = [summarize(s, budget) for s in samples]
            if not any(r.n_fit for r in rows):
                out.append({"sram_bytes": sram, "flash_bytes": flash, "width": None, "resolution": None,
                            "fit_share": 0.0, "mean_macs_fit": 0.0})
                continue
            best, fallback = choose(rows, min_fit_share)
            out.append({"sram_bytes": sram, "flash_bytes": flash, "width": best.width, "resolution": best.resolution,
                        "fit_share": best.fit_share, "mean_macs_fit": best.mean_macs_fit, "fallback": fallback})
    return out


def format_table(rows: tuple[SpaceRow, ...] | list[SpaceRow], chosen: tuple[float, int] | None = None) -> str:
    lines = [f"{'W':>5} {'R':>5} {'fit':>9} {'mean MACs':>12} {'max MACs':>12} {'min arena B':>12} "
             f"{'min Flash B':>12}"]
    for r in rows:
        mark = "  <- chosen" if chosen == (r.width, r.resolution) else ""
        lines.append(f"{r.width:>5g} {r.resolution:>5} {r.n_fit:>4}/{r.n_samples:<4} {r.mean_macs_fit:>12,.0f} "
                     f"{r.max_macs_fit:>12,} {r.min_arena_bytes:>12,} {r.min_flash_bytes:>12,}{mark}")
    return "\n".join(lines)


def format_grid(rows: list[dict[str, Any]]) -> str:
    srams = sorted({r["sram_bytes"] for r in rows})
    flashes = sorted({r["flash_bytes"] for r in rows})
    cell = {(r["sram_bytes"], r["flash_bytes"]): r for r in rows}
    head = f"{'SRAM x Flash':>14}" + "".join(f"{f // 1024:>12} KB" for f in flashes)
    lines = [head]
    for s in srams:
        parts = []
        for f in flashes:
            r = cell[(s, f)]
            parts.append(f"{'-':>15}" if r["width"] is None else f"{'W%g R%d' % (r['width'], r['resolution']):>15}")
        lines.append(f"{s // 1024:>11} KB" + "".join(parts))
    return "\n".join(lines)

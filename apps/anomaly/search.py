"""Width/depth search over the dense-autoencoder family under an SRAM/Flash budget.

Every candidate (hidden width x encoder depth, bottleneck 8, mirrored decoder) is costed with the torch-free
tinycore.nas.cost (the integer graph's shape, planned by tinycore.memory), so its arena and Flash are the exact
figures of its int8 graph without quantizing a torch model. The candidates that fit are ranked by params (largest
first); the top `train_top` are trained for a few epochs and the lowest validation MSE wins (ties: less Flash).
`app_search` is the Task.search hook: the shared `search` command trains the winner, exports it and checks that
the exported graph's arena and Flash equal the figures measured here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from tinycore.errors import BudgetError
from tinycore.spec import dense_autoencoder
from tinycore.task import AppSearchResult, TaskData

WIDTHS = (32, 48, 64, 96, 128)
DEPTHS = (1, 2, 3, 4)
BOTTLENECK = 8


@dataclass(frozen=True)
class Candidate:
    width: int
    depth: int
    sizes: tuple[int, ...]
    params: int
    macs: int
    sram_peak_bytes: int
    flash_bytes: int
    fits: bool
    val_mse: float | None = None


def family_sizes(width: int, depth: int, features: int = 640, bottleneck: int = BOTTLENECK) -> tuple[int, ...]:
    """640-w x depth-8-w x depth-640 (the MLPerf reference is width 128, depth 4)."""
    return (features, *([width] * depth), bottleneck, *([width] * depth), features)


def measure(sizes: tuple[int, ...], sram_bytes: int, flash_bytes: int) -> Candidate:
    """Exact arena and Flash of the int8 graph of one family member (tinycore.nas.cost, no torch)."""
    from tinycore.nas.cost import subnet_cost

    cost = subnet_cost(dense_autoencoder(sizes))
    depth = (len(sizes) - 3) // 2
    return Candidate(sizes[1], depth, sizes, cost.params, cost.macs, cost.arena_bytes, cost.flash_bytes,
                     cost.arena_bytes <= sram_bytes and cost.flash_bytes <= flash_bytes)


def _proxy_mse(sizes: tuple[int, ...], data: TaskData, epochs: int, seed: int) -> float:
    import torch
    import torch.nn.functional as F

    from tinycore.spec import build_model
    from tinycore.train import fit

    torch.manual_seed(seed)
    model = build_model(dense_autoencoder(sizes))
    rng = np.random.default_rng(seed)
    xt = data.train[0][rng.choice(len(data.train[0]), size=min(8000, len(data.train[0])), replace=False)]
    xt_t, xv_t = torch.from_numpy(xt), torch.from_numpy(data.val[0])
    res = fit(model, (xt_t, xt_t), (xv_t, xv_t), epochs=epochs, lr=3e-3, loss=F.mse_loss,
              metric=lambda o, t: float(F.mse_loss(o, t)), maximize=False, batch_size=256, weight_decay=0.0,
              progress=False, seed=seed)
    return float(res.best_metric)


def search_dense(data: TaskData, sram_bytes: int, flash_bytes: int, *, quick: bool = False, seed: int = 0,
                 train_top: int | None = None, epochs: int | None = None) -> dict:
    """{"best": Candidate, "candidates": [Candidate...], "spec": ModelSpec} for the budget; BudgetError naming the
    nearest (smallest) member when none fits."""
    cands = [measure(family_sizes(w, d), sram_bytes, flash_bytes) for w in WIDTHS for d in DEPTHS]
    fitting = sorted((c for c in cands if c.fits), key=lambda c: -c.params)
    if not fitting:
        small = min(cands, key=lambda c: c.flash_bytes)
        raise BudgetError(f"dense-autoencoder search: no width/depth fits SRAM {sram_bytes:,} B / Flash "
                          f"{flash_bytes:,} B; the nearest is {'-'.join(map(str, small.sizes))} with arena "
                          f"{small.sram_peak_bytes:,} B and Flash {small.flash_bytes:,} B")
    top = fitting[:train_top or (2 if quick else 4)]
    n_ep = epochs or (3 if quick else 8)
    scored = [Candidate(**{**c.__dict__, "val_mse": _proxy_mse(c.sizes, data, n_ep, seed)}) for c in top]
    best = min(scored, key=lambda c: (round(c.val_mse, 3), c.flash_bytes))
    by_sizes = {c.sizes: c for c in scored}
    return {"best": best, "candidates": [by_sizes.get(c.sizes, c) for c in cands],
            "spec": dense_autoencoder(best.sizes)}


def app_search(task, data: TaskData, run_dir, sram_bytes: int, flash_bytes: int, quick: bool, seed: int,
               progress: bool) -> AppSearchResult:
    """Task.search for `python -m apps.anomaly search`: the width/depth winner (untrained: the shared `search`
    command trains it with the task's settings), its exact arena/Flash, and every candidate for the report."""
    found = search_dense(data, sram_bytes, flash_bytes, quick=quick, seed=seed)
    best: Candidate = found["best"]
    return AppSearchResult(found["spec"], best.sram_peak_bytes, best.flash_bytes, details={
        "sizes": list(best.sizes), "width": best.width, "depth": best.depth, "val_mse": best.val_mse,
        "candidates": [{**asdict(c), "sizes": list(c.sizes)} for c in found["candidates"]]})

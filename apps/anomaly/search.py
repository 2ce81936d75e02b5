"""Width/depth search over the IDNN family (the default model) or the dense-autoencoder family under an SRAM/Flash
budget, one search per machine's model (apps.anomaly.commands.cmd_search).

IDNN members: 640-w-w/2-..-w/2^depth-..-w/2-w-128 (the default 640-256-128-64-128-256-128 is width 256, depth 2);
dense members: hidden width x encoder depth, bottleneck 8, mirrored decoder. Every candidate is costed with the torch-free
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
from tinycore.spec import ModelSpec, dense_autoencoder, idnn
from tinycore.task import AppSearchResult, TaskData

WIDTHS = (32, 48, 64, 96, 128)
DEPTHS = (1, 2, 3, 4)
BOTTLENECK = 8
IDNN_WIDTHS = (64, 96, 128, 192, 256)
IDNN_DEPTHS = (1, 2, 3)
PROXY_LR = {"dense_autoencoder": 3e-3, "idnn": 1e-3}  # each family's training rate (the task's for the IDNN)


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


def idnn_sizes(width: int, depth: int, features: int = 640, out: int = 128) -> tuple[int, ...]:
    """640-w-w/2-..-w/2^depth-..-w/2-w-128: each encoder layer halves the width, the decoder mirrors it."""
    enc = [width // 2 ** i for i in range(depth)]
    return (features, *enc, width // 2 ** depth, *enc[::-1], out)


def members(family: str) -> list[tuple[int, ...]]:
    """The sizes of every member of `family` ("idnn" or "dense_autoencoder")."""
    if family == "idnn":
        return [idnn_sizes(w, d) for w in IDNN_WIDTHS for d in IDNN_DEPTHS]
    if family == "dense_autoencoder":
        return [family_sizes(w, d) for w in WIDTHS for d in DEPTHS]
    raise ValueError(f"unknown model family {family!r}; known: {tuple(PROXY_LR)}")


def member_spec(family: str, sizes: tuple[int, ...]) -> ModelSpec:
    return idnn(sizes) if family == "idnn" else dense_autoencoder(sizes)


def measure(sizes: tuple[int, ...], sram_bytes: int, flash_bytes: int, family: str = "dense_autoencoder") -> Candidate:
    """Exact arena and Flash of the int8 graph of one family member (tinycore.nas.cost, no torch)."""
    from tinycore.nas.cost import subnet_cost

    cost = subnet_cost(member_spec(family, sizes))
    depth = (len(sizes) - 3) // 2
    return Candidate(sizes[1], depth, sizes, cost.params, cost.macs, cost.arena_bytes, cost.flash_bytes,
                     cost.arena_bytes <= sram_bytes and cost.flash_bytes <= flash_bytes)


def _proxy_mse(spec: ModelSpec, data: TaskData, epochs: int, seed: int, lr: float) -> float:
    """Best validation MSE of `spec` after a few epochs on (at most 8000 of) the training pairs of data."""
    import torch
    import torch.nn.functional as F

    from tinycore.spec import build_model
    from tinycore.train import fit

    torch.manual_seed(seed)
    model = build_model(spec)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(data.train[0]), size=min(8000, len(data.train[0])), replace=False)
    train = tuple(torch.from_numpy(a[pick]) for a in data.train)
    val = tuple(torch.from_numpy(a) for a in data.val)
    res = fit(model, train, val, epochs=epochs, lr=lr, loss=F.mse_loss,
              metric=lambda o, t: float(F.mse_loss(o, t)), maximize=False, batch_size=256, weight_decay=0.0,
              progress=False, seed=seed)
    return float(res.best_metric)


def search_family(data: TaskData, sram_bytes: int, flash_bytes: int, *, family: str = "dense_autoencoder",
                  quick: bool = False, seed: int = 0, train_top: int | None = None, epochs: int | None = None) -> dict:
    """{"best": Candidate, "candidates": [Candidate...], "spec": ModelSpec} for the budget; BudgetError naming the
    nearest (smallest) member when none fits. `data` pairs are what the family trains on (an IDNN's: standardised
    inputs, centre targets; apps.anomaly.idnn.training_data)."""
    cands = [measure(sizes, sram_bytes, flash_bytes, family) for sizes in members(family)]
    fitting = sorted((c for c in cands if c.fits), key=lambda c: -c.params)
    if not fitting:
        small = min(cands, key=lambda c: c.flash_bytes)
        raise BudgetError(f"{family} search: no width/depth fits SRAM {sram_bytes:,} B / Flash "
                          f"{flash_bytes:,} B; the nearest is {'-'.join(map(str, small.sizes))} with arena "
                          f"{small.sram_peak_bytes:,} B and Flash {small.flash_bytes:,} B")
    top = fitting[:train_top or (2 if quick else 4)]
    n_ep = epochs or (3 if quick else 8)
    scored = [Candidate(**{**c.__dict__, "val_mse": _proxy_mse(member_spec(family, c.sizes), data, n_ep, seed,
                                                               PROXY_LR[family])}) for c in top]
    best = min(scored, key=lambda c: (round(c.val_mse, 3), c.flash_bytes))
    by_sizes = {c.sizes: c for c in scored}
    return {"best": best, "candidates": [by_sizes.get(c.sizes, c) for c in cands],
            "spec": member_spec(family, best.sizes)}


def search_details(found: dict) -> dict:
    """The report's `search` fields of a search_family result."""
    best: Candidate = found["best"]
    return {"sizes": list(best.sizes), "width": best.width, "depth": best.depth, "val_mse": best.val_mse,
            "candidates": [{**asdict(c), "sizes": list(c.sizes)} for c in found["candidates"]]}


def app_search(task, data: TaskData, run_dir, sram_bytes: int, flash_bytes: int, quick: bool, seed: int,
               progress: bool) -> AppSearchResult:
    """Task.search for the shared search step (tinycore.cli.search), which trains the winner on data as given:
    the dense-autoencoder family, whose targets are its inputs. The app's `search` command searches the IDNN
    family itself (apps.anomaly.commands), as the IDNN trains on standardised data."""
    found = search_family(data, sram_bytes, flash_bytes, quick=quick, seed=seed)
    best: Candidate = found["best"]
    return AppSearchResult(found["spec"], best.sram_peak_bytes, best.flash_bytes, details=search_details(found))

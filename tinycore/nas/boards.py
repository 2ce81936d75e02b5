"""One supernet, one model per board (once-for-all): train the weight-sharing supernet once, then draw a subnet for
each board's own SRAM and Flash without training the supernet again.

Stage 1 runs under the *common* budget of the boards (the smallest SRAM and the smallest Flash any of them leaves
a model): it fixes the supernet's width W and resolution R, so at least `min_fit_share` of its subnets fit every
board, while the larger boards reach the bigger subnets of the same space (depth, kernel and expand differ per
board; W and R do not, because a supernet is trained at one W and R). Then, per board, the evolution runs under
that board's exact int8 arena and Flash limits, scoring subnets inside the shared supernet (BN recalibrated), and
the winner is extracted; it is fine-tuned only when `cfg.finetune_epochs` > 0 (the result says which).

A board's limits are what it leaves a model (`board_budget`): its SRAM less the heap/runtime reserve, the
deepest kernel's stack on its core and what the app's firmware keeps beside the arena (`Task.firmware_ram_bytes`:
its buffers and stack frames, so that a pick within the limit also links), its Flash less the firmware code
estimate. A real board is built, not run:
the firmware runs on the emulated board of the same core (`emulated_twin`: cortex-m4 -> mps2-an386, cortex-m7 ->
mps2-an500), which executes the same machine code, so its instruction count stands for the real board's.

Files: out/stage1.json, out/supernet.pt (shared), out/boards/<board>/{evolution.jsonl, candidates.png,
best_spec.json, search.json, finetune/} per board; all resumable as in `tinycore.nas.search`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from tinycore.budget import Budget
from tinycore.errors import UnsupportedError


@dataclass(frozen=True)
class BoardTarget:
    board: str        # the board the model is for (may be build-only hardware)
    cpu: str
    budget: Budget    # the limits it leaves the model
    emulated: str     # the QEMU board of its core, where instructions are counted
    firmware_ram_bytes: int = 0  # the app firmware's RAM beside the arena, taken off budget.sram_bytes

    def to_dict(self) -> dict[str, Any]:
        return {"board": self.board, "cpu": self.cpu, "budget": self.budget.to_dict(), "emulated": self.emulated,
                "firmware_ram_bytes": self.firmware_ram_bytes}


def board_budget(name: str, firmware_ram_bytes: int = 0) -> Budget:
    """The limits a board leaves a model: its SRAM less the heap/runtime reserve, the stack of the deepest
    kernel measured on its core (the model is not known yet, so the worst entry of tinycore/export/stack_table.json)
    and `firmware_ram_bytes` (the app's own buffers and stack frames, Task.firmware_ram_bytes); its Flash less the
    code estimate (the margins the firmware build checks, tinycore.export.firmware)."""
    from tinycore.export.boards import get_board
    from tinycore.export.firmware import FLASH_CODE_ESTIMATE_BYTES, HEAP_RESERVE_BYTES
    from tinycore.export.stack import estimate_stack, load_table

    b = get_board(name)
    stack = estimate_stack(load_table()["cores"].get(b.cpu, {}).get("kernels", {}), b.cpu)
    sram = b.sram_bytes - stack.bytes - HEAP_RESERVE_BYTES - firmware_ram_bytes
    if sram <= 0:
        raise UnsupportedError(f"board '{name}': {b.sram_bytes:,} B of SRAM leave no arena beside the stack "
                               f"({stack.bytes:,} B), the heap/runtime reserve ({HEAP_RESERVE_BYTES:,} B) and the "
                               f"app firmware's {firmware_ram_bytes:,} B")
    return Budget(sram, b.flash_bytes - FLASH_CODE_ESTIMATE_BYTES)


def board_targets(names: Sequence[str], firmware_ram_bytes: int = 0) -> list[BoardTarget]:
    """BoardTarget per board name (unknown names fail listing the close matches); each board once.
    `firmware_ram_bytes`: what the app's firmware keeps beside the arena (Task.firmware_ram_bytes)."""
    from tinycore.export.boards import get_board
    from tinycore.export.firmware import emulated_twin

    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise UnsupportedError("--boards: give one or more board names, e.g. stm32f412,stm32f746,stm32h743")
    if len(set(names)) != len(names):
        raise UnsupportedError(f"--boards: a board is named twice in {','.join(names)}")
    out = []
    for n in names:
        b = get_board(n)
        out.append(BoardTarget(b.name, b.cpu, board_budget(b.name, firmware_ram_bytes), emulated_twin(b).name,
                               firmware_ram_bytes))
    return out


def common_budget(targets: Sequence[BoardTarget]) -> Budget:
    """The budget every board meets: the smallest SRAM and the smallest Flash among them (stage 1 runs under it)."""
    return Budget(min(t.budget.sram_bytes for t in targets), min(t.budget.flash_bytes for t in targets))


@dataclass(frozen=True)
class BoardsSearch:
    common: Budget
    stage1: Any                         # tinycore.nas.stage1.Stage1Result under `common`
    supernet_history: list[dict[str, Any]]
    results: list[tuple[BoardTarget, Any]]   # (target, tinycore.nas.search.SearchResult) per board, in order


def search_boards(space, targets: Sequence[BoardTarget], train_data, val_data, cfg, out_dir: str | Path, *,
                  loss: Callable | None = None, metric: Callable | None = None, metric_name: str = "accuracy",
                  progress: bool = True, train_loader: Any = None,
                  on_board: Callable[[BoardTarget, Any], None] | None = None) -> BoardsSearch:
    """Train the supernet once under `common_budget(targets)`, then pick (and optionally fine-tune) one subnet per
    target under its own budget. `on_board(target, result)` is called after each board's pick (e.g. to export it
    while the next board is searched). Arguments otherwise as `tinycore.nas.search.run_search`."""
    import torch.nn.functional as F

    from tinycore.nas.search import pick_subnet, train_shared_supernet
    from tinycore.train import distributed
    from tinycore.train.loop import accuracy

    out = Path(out_dir)
    common = common_budget(targets)
    ctx = distributed.start()
    try:
        kw = {"loss": loss or F.cross_entropy, "metric": metric or accuracy, "progress": progress}
        shared = train_shared_supernet(space, common, train_data, val_data, cfg, out, ctx,
                                       train_loader=train_loader, **kw)
        results = []
        for t in targets:
            res = pick_subnet(shared, t.budget, cfg, out / "boards" / t.board, metric_name=metric_name, **kw)
            results.append((t, res))
            if on_board is not None:
                on_board(t, res)
        return BoardsSearch(common, shared.stage1, shared.history, results)
    finally:
        distributed.stop(ctx)


TABLE_COLUMNS = ("board", "core (emulated on)", "SRAM limit B", "Flash limit B", "arena B", "Flash B", "MACs",
                 "int8 {metric}", "instructions")


def format_board_table(rows: Sequence[dict[str, Any]], metric_name: str = "accuracy", markdown: bool = False) -> str:
    """The per-board table from rows as `tinycore.cli.boards` writes them in report.json search.boards.rows."""
    head = [c.format(metric=metric_name) for c in TABLE_COLUMNS]
    body = []
    for r in rows:
        ins = r.get("instructions_per_inference")
        met = r.get(f"int8_{metric_name}")
        body.append([r["board"], f"{r['cpu']} ({r['emulated']})", f"{r['sram_limit_bytes']:,}",
                     f"{r['flash_limit_bytes']:,}", f"{r['arena_bytes']:,}", f"{r['flash_bytes']:,}",
                     f"{r['macs']:,}", "-" if met is None else f"{met:.4f}", "-" if ins is None else f"{ins:,}"])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    return "\n".join("  ".join(x.rjust(w) if i >= 2 else x.ljust(w) for i, (x, w) in enumerate(zip(row, widths)))
                     for row in [head, *body])

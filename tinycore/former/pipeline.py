"""`search --family former` of an app: the whole MCUFormer pipeline on the app's data, into its run folder.

1. Search-space evolution (tinycore.former.space_evolution, driven by tinycore.former.driver.SpaceSupernet): a
   weight-entangled supernet trained in the start (low-rank ratio, token count) space, moved a step at a time.
2. Subnet search (tinycore.former.search) in the chosen space, scored by supernet accuracy, each candidate checked
   against SRAM and Flash with its exact int8 arena.
3. The winner extracted with its supernet weights and fine-tuned on the app's training loader (tinycore.cli.steps),
   then exported (`quantize` hands ViT specs to quantize_vit, per-head attention), its arena and Flash required to
   equal the prediction, evaluated in float and int8, and run in the app's firmware on an emulated board.

The app gives only its ViT choices (`Task.former_choices(data) -> FormerSetup`); settings are `FormerConfig`.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinycore.budget import Budget
from tinycore.errors import CheckError, TinycoreError
from tinycore.former.space import ViTChoices
from tinycore.former.space_evolution import FormerSpace, SpaceEvolutionConfig, SpaceGrid
from tinycore.nas.evolution import EvolutionConfig
from tinycore.nas.train_supernet import SupernetConfig
from tinycore.progress import log
from tinycore.report import RunDir
from tinycore.task import Task, TaskData


@dataclass(frozen=True)
class FormerSetup:
    """What an app gives: the elastic ViT choices for its input and classes, the (ratio, tokens) grid, the start."""
    choices: ViTChoices
    grid: SpaceGrid
    start: FormerSpace


@dataclass(frozen=True)
class FormerConfig:
    supernet: SupernetConfig = field(default_factory=SupernetConfig)  # epochs: before the first space step
    evolution: SpaceEvolutionConfig | None = None  # None: built from the setup's grid with these defaults
    gamma: float = 1.0            # weight of the fitting fraction in the space score
    epochs_per_step: int = 2
    max_steps: int = 4
    n_subnets: int = 4            # sampled subnets whose mean supernet accuracy scores a space
    n_fit: int = 16               # sampled subnets whose arena gives the fitting fraction
    subnet_search: EvolutionConfig = field(default_factory=lambda: EvolutionConfig(population=20, generations=6))
    finetune_epochs: int | None = None  # None: the app's train epochs
    n_frames: int = 20            # test inputs run in the firmware
    seed: int = 0

    @staticmethod
    def quick(seed: int = 0) -> "FormerConfig":
        """Minutes on one core: 2 supernet epochs, one space move, 24 subnets scored, 12 fine-tune epochs."""
        return FormerConfig(supernet=SupernetConfig(epochs=2, lr=3e-3, batch_size=32, n_random=1, calib_batches=2,
                                                    seed=seed),
                            epochs_per_step=1, max_steps=1, n_subnets=2, n_fit=4,
                            subnet_search=EvolutionConfig(population=8, generations=3), finetune_epochs=12,
                            n_frames=8, seed=seed)

    def evolution_for(self, grid: SpaceGrid) -> SpaceEvolutionConfig:
        return self.evolution or SpaceEvolutionConfig(grid=grid, gamma=self.gamma, k=5, threshold=0.0,
                                                      epochs_per_step=self.epochs_per_step, max_steps=self.max_steps)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))


def former_search_and_export(task: Task, data: TaskData, run: RunDir, *, sram_bytes: int, flash_bytes: int,
                             quick: bool, seed: int, progress: bool, epochs: int | None = None,
                             board: str | None = None, config: FormerConfig | None = None,
                             macs: int | None = None) -> dict:
    """Evolve the space, search the subnet (within SRAM, Flash and `macs`), fine-tune, export under the budget,
    evaluate, run the firmware; the report (report.json "search" holds the space path, the winner and its predicted
    memory)."""
    import torch

    from tinycore.cli import steps
    from tinycore.cli.search import export_and_check
    from tinycore.former.driver import SpaceSupernet
    from tinycore.former.plots import plot_space_evolution
    from tinycore.former.search import search_subnet
    from tinycore.former.space_evolution import evolve_space
    from tinycore.nas.train_supernet import score_subnet

    if task.former_choices is None:
        raise TinycoreError(f"the {task.name} app defines no former (ViT) choices: --family former is not offered")
    setup: FormerSetup = task.former_choices(data)
    cfg = config or (FormerConfig.quick(seed) if quick else FormerConfig(seed=seed))
    budget = Budget(sram_bytes, flash_bytes, macs)
    out = run.path / "search"
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    train = tuple(torch.from_numpy(a) for a in data.train)
    val = tuple(torch.from_numpy(a) for a in data.val)

    log(f"[former 1/4] search-space evolution from {setup.start.short()} on {setup.grid}", quiet=not progress)
    drv = SpaceSupernet(setup.choices, setup.start, train, val, cfg.supernet, budget, out / "supernet",
                        n_subnets=cfg.n_subnets, n_fit=cfg.n_fit, seed=seed)
    drv.train(setup.start, cfg.supernet.epochs)
    evo_cfg = cfg.evolution_for(setup.grid)
    evo = evolve_space(setup.start, drv.score, drv.train, evo_cfg, start_epochs=cfg.supernet.epochs,
                       log_path=out / "space_evolution.jsonl")
    drv.sync(evo.epochs)
    plot = plot_space_evolution(evo, setup.grid, run.path / "space_evolution.png")
    space = evo.chosen

    log(f"[former 2/4] subnet search in {space.short()} under SRAM {sram_bytes:,} B / Flash {flash_bytes:,} B",
        quiet=not progress)
    net = drv.at(space)
    calib = [train[0][:cfg.supernet.batch_size]]
    found = search_subnet(setup.choices, space, budget, lambda a: score_subnet(net, a, calib, val),
                          cfg.subnet_search, np.random.default_rng([seed, 2]), log_path=out / "subnets.jsonl",
                          progress=progress)
    best = found.best
    spec = setup.choices.to_spec(best.arch, space)

    log(f"[former 3/4] fine-tune {best.arch.short()} (supernet val {best.score:.3f})", quiet=not progress)
    model = net.extract(best.arch)
    ft = steps.train(task, data, run, spec, quick=quick, seed=seed, progress=progress,
                     epochs=epochs or cfg.finetune_epochs, init_model=model)
    run.update_report(app=task.name, dataset=data.dataset, model=steps.model_section(spec), search={
        "family": "former", "source": "tinycore.former", "space": dataclasses.asdict(space),
        "space_path": [s.short() for s in evo.path], "space_stop": evo.stop_reason,
        "space_scores": [dataclasses.asdict(s) for s in evo.scores], "space_plot": str(plot),
        "arch": best.arch.short(), "supernet_val": best.score, "predicted_arena_bytes": best.arena_bytes,
        "predicted_flash_bytes": best.flash_bytes, "predicted_macs": best.macs, "macs_limit": macs,
        "subnets_scored": len(found.candidates), "finetune": ft, "config": cfg.to_dict()})

    log("[former 4/4] int8 export, evaluation, firmware", quiet=not progress)
    export_and_check(task, data, run, sram_bytes, flash_bytes, best.arena_bytes, best.flash_bytes,
                     "tinycore.former.cost")
    steps.evaluate(task, data, run)
    if task.firmware is not None:
        fw = steps.firmware(task, data, run, board=board or task.default_board, n_clips=cfg.n_frames, seed=seed,
                            progress=progress)
        failed = steps.firmware_failures(task, fw)
        if failed:
            raise CheckError(f"{run.report_path}: former firmware check(s) failed: {', '.join(failed)}")
    return run.load_report()


def image_setup(data: TaskData) -> FormerSetup:
    """Default ViT choices for a square (C, S, S) image task: embedding 32-64, 2-4 blocks, 1-4 heads, MLP ratio
    1-3; tokens on the square grids whose side divides S (up to 144), low-rank ratios 0.25-1; start at the middle."""
    c, h, w = data.input_shape
    if h != w:
        raise TinycoreError(f"former image setup: input {h}x{w} is not square; give the app its own FormerSetup")
    tokens = tuple(s * s for s in range(4, 13) if h % s == 0) or (1,)
    choices = ViTChoices(dims=(32, 48, 64), depths=(2, 3, 4), heads=(1, 2, 4), mlp_ratios=(1.0, 2.0, 3.0),
                         resolution=h, in_channels=c, classes=len(data.classes), pos_embed=True)
    grid = SpaceGrid(rank_ratios=(0.25, 0.5, 0.75, 1.0), token_counts=tokens)
    return FormerSetup(choices, grid, FormerSpace(0.5, tokens[(len(tokens) - 1) // 2]))


def spectrogram_setup(data: TaskData) -> FormerSetup:
    """Default ViT choices for a (1, frames, coefficients) feature map (KWS MFCC): tokens are strips of whole
    frames (the audio transformers' time patches), 4 to 4 choices of token count between 6 and 24; otherwise as
    image_setup."""
    c, h, w = data.input_shape
    tokens = sorted({h // ph for ph in range(1, h + 1) if 6 <= h // ph <= 24})
    tokens = tuple(tokens[i] for i in np.linspace(0, len(tokens) - 1, min(4, len(tokens))).round().astype(int))
    choices = ViTChoices(dims=(32, 48, 64), depths=(2, 3, 4), heads=(1, 2, 4), mlp_ratios=(1.0, 2.0, 3.0),
                         resolution=w, in_channels=c, classes=len(data.classes), height=h, strips=True,
                         pos_embed=True)
    grid = SpaceGrid(rank_ratios=(0.25, 0.5, 0.75, 1.0), token_counts=tokens)
    return FormerSetup(choices, grid, FormerSpace(0.5, tokens[(len(tokens) - 1) // 2]))

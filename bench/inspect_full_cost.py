"""`python bench/inspect_full_cost.py`: what the full inspect demo (`python -m apps.inspect demo`, not --quick) costs,
from a few measured steps on one thread (CPU time): rendering a 224x224 frame of the built-in set; a training step of
the user's MobileNetV1 alpha 1.0 at 224x224 (the full TrainSettings' batch, AdamW) and its forward pass (val, the
teacher's logits, keep_order); the optimize search with the demo's OptimizeConfig under the demo's budget, then a
training step and the int8 runtime of the candidate it ranks first. Prints the CPU time of each stage with the
teacher's logits cached (tinycore/optimize/teacher.py) and what calling the teacher every step would add; the
firmware runs (QEMU, 3 inputs on 2 boards) are not included."""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from apps.inspect import data
from apps.inspect.demo import BOARD, MODEL_FLASH
from apps.inspect.task import train_settings
from tinycore.budget import Budget
from tinycore.nas.boards import board_budget
from tinycore.nas.evolution import EvolutionConfig, evolve
from tinycore.optimize.cost import CandidateCost
from tinycore.optimize.distill import CALIBRATION_SAMPLES
from tinycore.optimize.pipeline import BN_SAMPLES, OptimizeConfig
from tinycore.optimize.space import UserSpace
from tinycore.quant import quantize, quantize_input
from tinycore.runtime import run as run_graph
from tinycore.spec import build_model, mobilenet_v1
from tinycore.units import parse_bytes

FRAMES, STEPS, RUNTIME_SAMPLES = 6, 2, 2
SIZE, SETTINGS, CFG = data.FULL, train_settings(False), OptimizeConfig.quick(firmware_inputs=3)


def _cpu(fn, repeat: int = 1) -> float:
    """CPU seconds per call of fn (after one warm-up call)."""
    fn()
    t = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t) / repeat


def _train_step_s(model: torch.nn.Module, batch: int, hw: int) -> float:
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    x, y = torch.rand(batch, 3, hw, hw), torch.randint(0, 2, (batch,))

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return _cpu(step, STEPS)


def _forward_per_frame_s(model: torch.nn.Module, hw: int, batch: int = 64) -> float:
    x = torch.rand(batch, 3, hw, hw)
    model.eval()
    with torch.no_grad():
        return _cpu(lambda: model(x)) / batch


def main() -> None:
    torch.set_num_threads(1)
    render = _cpu(lambda: [data._render_one((0, 0, i, SIZE.height, SIZE.width)) for i in range(FRAMES)]) / FRAMES
    spec = mobilenet_v1(1.0, resolution=SIZE.height, classes=2)
    user = build_model(spec)
    user_step = _train_step_s(user, SETTINGS.batch_size, SIZE.height)
    user_fwd = _forward_per_frame_s(user, SIZE.height)
    user_epoch = user_step * SIZE.train / SETTINGS.batch_size + user_fwd * SIZE.val
    stages = {"render": render * (SIZE.train + SIZE.val + SIZE.test),
              "user model": SETTINGS.epochs * user_epoch + user_fwd * SIZE.test}

    space = UserSpace(spec)
    budget = board_budget(BOARD)
    budget = Budget(budget.sram_bytes, min(budget.flash_bytes, parse_bytes(MODEL_FLASH)))
    cost = CandidateCost(space, budget, CFG.patches)
    t = time.process_time()
    result = evolve(space, 1.0, SIZE.height, budget, score=lambda g: float(np.log10(max(1, cost(g).macs))),
                    cfg=EvolutionConfig(population=CFG.population, generations=CFG.generations),
                    rng=np.random.default_rng(CFG.seed), cost=cost)
    search = time.process_time() - t
    best = max(result.candidates, key=lambda c: (c.score, -c.flash_bytes))
    r = best.arch.resolution
    student = build_model(space.to_spec(best.arch))
    cand_step = _train_step_s(student, CFG.distill.batch_size, r)
    cand_fwd = _forward_per_frame_s(student, r)
    student.eval()
    calib = [torch.rand(8, 3, r, r)]
    graph = quantize(student, calib)
    q = quantize_input(graph, np.random.rand(RUNTIME_SAMPLES, 3, r, r).astype(np.float32))
    runtime = _cpu(lambda: [run_graph(graph, s) for s in q]) / RUNTIME_SAMPLES
    epochs = CFG.proxy_pool * CFG.proxy_epochs + CFG.top_k * (CFG.distill.epochs + CFG.distill.qat_epochs)
    cand_epoch = cand_step * SIZE.train / CFG.distill.batch_size + cand_fwd * SIZE.val
    teacher_pass = user_fwd * SIZE.train
    stages["optimize"] = (user_fwd * (SIZE.test + (1 + len(space.droppable())) * BN_SAMPLES) + search
                          + teacher_pass * min(CFG.proxy_pool + CFG.top_k, 2) + epochs * cand_epoch
                          + CFG.top_k * (runtime * (SIZE.val + SIZE.test) + cand_fwd * CALIBRATION_SAMPLES))
    uncached = epochs * teacher_pass
    print(f"render {render:.3f} CPU s per {SIZE.height}x{SIZE.width} frame; user train step ({SETTINGS.batch_size} "
          f"frames) {user_step:.2f} CPU s, forward {1000 * user_fwd:.0f} CPU ms per frame; epoch of {SIZE.train:,} "
          f"frames + val {user_epoch / 60:.1f} CPU min")
    print(f"search {search:.0f} CPU s ({len(result.candidates)} candidates); first by MACs {best.arch.short()} "
          f"({best.macs:,} MACs): train step {cand_step:.2f} CPU s, int8 runtime {runtime:.2f} CPU s per frame")
    print("; ".join(f"{k} {v / 60:.0f} CPU min" for k, v in stages.items()) +
          f"; total {sum(stages.values()) / 3600:.2f} CPU h (teacher's logits cached: 2 input sizes assumed; "
          f"calling the teacher every step would add {uncached / 60:.0f} CPU min)")


if __name__ == "__main__":
    main()

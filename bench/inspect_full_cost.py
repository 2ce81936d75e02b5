"""`python bench/inspect_full_cost.py`: what the full inspect demo (`python -m apps.inspect demo`, not --quick) costs,
from a few measured steps: CPU seconds per rendered 224x224 frame of the built-in set, and per training step of the
user's MobileNetV1 alpha 1.0 at 224x224 (16 frames, AdamW), on one thread. Prints the per-epoch and 30-epoch CPU
time those imply; the full run itself takes hours on 2 cores, so the README states this estimate."""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from apps.inspect import data
from tinycore.spec import build_model, mobilenet_v1

FRAMES, STEPS, BATCH, TRAIN_FRAMES, EPOCHS = 10, 3, 16, data.FULL.train, 30


def main() -> None:
    torch.set_num_threads(1)
    t = time.process_time()
    for i in range(FRAMES):
        data._render_one((0, 0, i, data.FULL.height, data.FULL.width))
    render = (time.process_time() - t) / FRAMES
    model = build_model(mobilenet_v1(1.0, resolution=data.FULL.height, classes=2))
    opt = torch.optim.AdamW(model.parameters(), 3e-3)
    x, y = torch.rand(BATCH, 3, data.FULL.height, data.FULL.width), torch.randint(0, 2, (BATCH,))

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up
    t = time.process_time()
    for _ in range(STEPS):
        step()
    per_step = (time.process_time() - t) / STEPS
    epoch = per_step * TRAIN_FRAMES / BATCH
    print(f"render {render:.3f} CPU s per {data.FULL.height}x{data.FULL.width} frame; train step ({BATCH} frames) "
          f"{per_step:.2f} CPU s; epoch of {TRAIN_FRAMES:,} frames {epoch / 60:.1f} CPU min; {EPOCHS} epochs "
          f"{EPOCHS * epoch / 3600:.1f} CPU h")


if __name__ == "__main__":
    main()

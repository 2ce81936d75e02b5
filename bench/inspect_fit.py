"""`python bench/inspect_fit.py CACHE MODEL EPOCHS LR AUG BATCH [OPTIMIZER [TRAIN_FRAMES]]`: can a model learn a built
inspect set?

The diagnosis behind the set's version 3 (apps/inspect/README.md): trains MODEL on CACHE's train split with the
shared loop (`tinycore.train.fit`, val each epoch) and prints the val history, train and test accuracy and the CPU
seconds. MODEL is `mnv1<alpha>` (the app's MobileNetV1 at the set's size; `mnv1<alpha>max` with a global max pool
instead of the average) or `cnn<width>` (four 3x3 conv + BN + ReLU layers with max pools and a global max pool: a
plain detector of small local marks). AUG 1 uses the app's train-time augmentation (apps/vww/augment.py).
TRAIN_FRAMES trains on the first frames only (a cheap probe of the full 224x224 set's learning curve); the test
split is scored when it is built.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from apps.vww.augment import augment_batch
from apps.vww.task import to_features
from tinycore.spec import build_model, mobilenet_v1
from tinycore.train import fit


def plain_cnn(c: int) -> nn.Module:
    def block(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(*block(3, c), nn.MaxPool2d(2), *block(c, c), nn.MaxPool2d(2), *block(c, 2 * c),
                         nn.MaxPool2d(2), *block(2 * c, 2 * c), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                         nn.Linear(2 * c, 2))


def make_model(name: str, resolution: int) -> nn.Module:
    if name.startswith("cnn"):
        return plain_cnn(int(name[3:]))
    model = build_model(mobilenet_v1(float(name[4:].removesuffix("max")), resolution=resolution, classes=2))
    if name.endswith("max"):
        model.head.globalpool = nn.AdaptiveMaxPool2d(1)
    return model


def main(argv: list[str]) -> None:
    cache, name, epochs, lr, aug, batch = argv[0], argv[1], int(argv[2]), float(argv[3]), argv[4] == "1", int(argv[5])
    optimizer = argv[6] if len(argv) > 6 else "adamw"
    n_train = int(argv[7]) if len(argv) > 7 else None
    torch.set_num_threads(1)
    z = {s: np.load(f"{cache}/{s}.npz") for s in ("train", "val", "test") if os.path.exists(f"{cache}/{s}.npz")}
    x = {s: torch.from_numpy(to_features(a["images"][:n_train if s == "train" else None])) for s, a in z.items()}
    y = {s: torch.from_numpy(a["labels"][:n_train if s == "train" else None].astype(np.int64)) for s, a in z.items()}
    torch.manual_seed(0)
    model = make_model(name, x["train"].shape[-1])

    def collate(rows):
        xs, ys = zip(*rows)
        return augment_batch(torch.stack(xs)), torch.stack(ys)

    train = (DataLoader(TensorDataset(x["train"], y["train"]), batch_size=batch, shuffle=True, collate_fn=collate)
             if aug else (x["train"], y["train"]))
    t = time.process_time()
    r = fit(model, train, (x["val"], y["val"]), epochs=epochs, lr=lr, batch_size=batch, optimizer=optimizer,
            progress=True)  # an epoch line on stderr: the plateau shows as it happens
    model.eval()
    with torch.no_grad():
        acc = {s: float((model(x[s][:1000]).argmax(1) == y[s][:1000]).float().mean()) for s in ("train", "test") if s in x}
    print(f"{name} epochs {epochs} lr {lr:g} aug {aug} train frames {len(y['train'])}: best val {r.best_metric:.4f} at "
          f"epoch {r.best_epoch}, accuracy {acc}, {time.process_time() - t:.0f} CPU s")
    print("epoch, train loss, val:", [(h.epoch, round(h.train_loss, 3), round(h.val_metric, 3)) for h in r.history])


if __name__ == "__main__":
    main(sys.argv[1:])

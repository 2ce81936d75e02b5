"""`python bench/inspect_fit.py CACHE MODEL EPOCHS LR AUG BATCH [OPTIMIZER [TRAIN_FRAMES]] [--flags]`: can a model
learn a built inspect set, and with which training recipe?

The diagnosis behind the set's version 3 and the user model's recipe (apps/inspect/README.md): trains MODEL on CACHE's
train split with the shared loop (`tinycore.train.fit`, val each epoch) and prints the val history, train and test
accuracy and the CPU seconds. MODEL is `mnv1<alpha>` (the app's MobileNetV1 at the set's size; `mnv1<alpha>max` with
a global max pool instead of the average) or `cnn<width>` (four 3x3 conv + BN + ReLU layers with max pools and a
global max pool: a plain detector of small local marks; `cnn<width>avg` with a global average pool). AUG 1 uses the
app's train-time augmentation (apps/vww/augment.py). TRAIN_FRAMES trains on the first frames only (a cheap probe of
the full 224x224 set's learning curve). The flags vary one part of the recipe at a time: --warmup epochs of linear
warm-up, --wd weight decay, --res R resizes every split to RxR (a cheaper twin of the 224x224 set), --norm
standardises the input per channel (train-split mean and std), --rot adds quarter turns to the augmentation,
--head-zero zero-initialises the classifier, --bn-momentum sets BatchNorm's running-average momentum, --aux K adds a
training-only max-pooled classifier on block K (AuxMax), --val-frames scores the first val frames only, --final
scores train and test at the end (also with BatchNorm statistics recomputed on the train frames), --out DIR keeps
(and resumes) the training's checkpoint in DIR.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tinycore.vision.augment import flip_shift_relight
from apps.vww.task import to_features
from tinycore.spec import build_model, mobilenet_v1
from tinycore.train import fit


def plain_cnn(c: int, pool: type[nn.Module] = nn.AdaptiveMaxPool2d) -> nn.Module:
    def block(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(*block(3, c), nn.MaxPool2d(2), *block(c, c), nn.MaxPool2d(2), *block(c, 2 * c),
                         nn.MaxPool2d(2), *block(2 * c, 2 * c), pool(1), nn.Flatten(),
                         nn.Linear(2 * c, 2))


def make_model(name: str, resolution: int) -> nn.Module:
    if name.startswith("cnn"):
        avg = name.endswith("avg")
        return plain_cnn(int(name[3:].removesuffix("avg")), nn.AdaptiveAvgPool2d if avg else nn.AdaptiveMaxPool2d)
    model = build_model(mobilenet_v1(float(name[4:].removesuffix("max")), resolution=resolution, classes=2))
    if name.endswith("max"):
        model.head.globalpool = nn.AdaptiveMaxPool2d(1)
    return model


class Standardise(nn.Module):
    """(x - mean) / std per channel in front of the model (--norm)."""

    def __init__(self, model: nn.Module, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", mean.view(1, -1, 1, 1))
        self.register_buffer("std", std.view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.mean) / self.std)


class AuxMax(nn.Module):
    """Deep supervision for training only (--aux K): a 1x1 conv on block K's output gives good/defect logits at
    every position, pooled by their maximum (a defect is one place in the frame); `aux_out` holds them for the
    loss. The model's own output and architecture are unchanged."""

    def __init__(self, model: nn.Module, block: int, free: bool = False) -> None:
        super().__init__()
        self.model = model
        layer = model.blocks[block]
        # free: no parameters, channels 0 and 1 of the block are the good / defect evidence maps themselves
        self.aux = (lambda f: f[:, :2]) if free else nn.Conv2d(layer.pw.conv.out_channels, 2, 1)
        self.feat: torch.Tensor | None = None
        self.aux_out: torch.Tensor | None = None
        layer.register_forward_hook(lambda _m, _i, o: setattr(self, "feat", o))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        self.aux_out = self.aux(self.feat).amax(dim=(2, 3)) if self.training else None
        return out


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("cache", "model", "epochs", "lr", "aug", "batch"):
        p.add_argument(name)
    p.add_argument("optimizer", nargs="?", default="adamw")
    p.add_argument("train_frames", nargs="?", type=int)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--wd", type=float, default=1e-4)
    p.add_argument("--res", type=int)
    p.add_argument("--norm", action="store_true")
    p.add_argument("--rot", action="store_true")
    p.add_argument("--head-zero", action="store_true")
    p.add_argument("--bn-momentum", type=float)
    p.add_argument("--val-frames", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="checkpoint folder of tinycore.train.fit: a run found there is resumed (put a copy of "
                                 "a demo's user/checkpoint.pt in it to go on with that training)")
    p.add_argument("--final", action="store_true", help="score train and test at the end, also with recalibrated "
                                                         "BatchNorm statistics")
    p.add_argument("--aux", type=int, help="deep supervision on this block's output (AuxMax)")
    p.add_argument("--aux-weight", type=float, default=1.0)
    p.add_argument("--aux-free", action="store_true", help="AuxMax without parameters: channels 0, 1 of block K")
    return p.parse_args(argv)


def load(cache: str, n: dict[str, int | None], res: int | None) -> tuple[dict, dict]:
    """Features and labels of the splits CACHE holds, the first n[split] frames, resized to res when given."""
    x, y = {}, {}
    for s in ("train", "val", "test"):
        if not os.path.exists(f"{cache}/{s}.npz") or n.get(s) == 0:
            continue
        z = np.load(f"{cache}/{s}.npz")
        k = n.get(s)
        xs = torch.from_numpy(to_features(z["images"][:k]))
        if res is not None and res != xs.shape[-1]:
            xs = F.interpolate(xs, size=(res, res), mode="area")
        x[s], y[s] = xs, torch.from_numpy(z["labels"][:k].astype(np.int64))
    return x, y


@torch.no_grad()
def scores(model: nn.Module, x: dict, y: dict) -> dict[str, float]:
    """Accuracy in eval mode on the first 1,000 frames of each split."""
    model.eval()
    return {s: round(float((model(x[s][:1000]).argmax(1) == y[s][:1000]).float().mean()), 4) for s in x}


@torch.no_grad()
def recalibrated(model: nn.Module, x: torch.Tensor, batch: int = 100) -> nn.Module:
    """A copy of model whose BatchNorm running statistics are the plain average over x (unaugmented): tells a
    model that learnt nothing from one whose running statistics do not match what it saw in training."""
    import copy

    m = copy.deepcopy(model)
    for bn in m.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average
    m.train()
    for i in range(0, len(x), batch):
        m(x[i:i + batch])
    return m


def main(argv: list[str] | None = None) -> None:
    a = parse(argv)
    epochs, lr, aug, batch = int(a.epochs), float(a.lr), a.aug == "1", int(a.batch)
    torch.set_num_threads(1)
    x, y = load(a.cache, {"train": a.train_frames, "val": a.val_frames, "test": 1000 if a.final else 0}, a.res)
    torch.manual_seed(a.seed)
    model = make_model(a.model, x["train"].shape[-1])
    if a.head_zero:
        fc = model.head.fc if hasattr(model, "head") else model[-1]
        nn.init.zeros_(fc.weight), nn.init.zeros_(fc.bias)
    if a.bn_momentum is not None:
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = a.bn_momentum
    if a.norm:
        model = Standardise(model, x["train"].mean((0, 2, 3)), x["train"].std((0, 2, 3)))
    loss = F.cross_entropy
    if a.aux is not None:
        model = AuxMax(model, a.aux, a.aux_free)

        def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(out, target) + a.aux_weight * F.cross_entropy(model.aux_out, target)

    def collate(rows):
        xs, ys = zip(*rows)
        xb = flip_shift_relight(torch.stack(xs))
        if a.rot:  # the parts lie at any angle: a quarter turn or a vertical flip keeps the label
            k = torch.randint(0, 4, (len(xb),)).tolist()
            xb = torch.stack([torch.rot90(im, r, (1, 2)) for im, r in zip(xb, k)])
        return xb, torch.stack(ys)

    train = (DataLoader(TensorDataset(x["train"], y["train"]), batch_size=batch, shuffle=True, collate_fn=collate)
             if aug else (x["train"], y["train"]))
    t = time.process_time()
    r = fit(model, train, (x["val"], y["val"]), epochs=epochs, lr=lr, batch_size=batch, optimizer=a.optimizer,
            loss=loss, weight_decay=a.wd, warmup_epochs=a.warmup, seed=a.seed, out_dir=a.out,
            progress=True)  # an epoch line on stderr: the plateau shows as it happens
    acc = scores(model, x, y) if a.final else {}
    recal = scores(recalibrated(model, x["train"]), x, y) if a.final else {}
    print(f"{a.model} res {x['train'].shape[-1]} epochs {epochs} lr {lr:g} {a.optimizer} warmup {a.warmup} wd {a.wd:g} "
          f"aug {aug} rot {a.rot} batch {batch} norm {a.norm} head_zero {a.head_zero} bn_momentum {a.bn_momentum} "
          f"aux {a.aux} free {a.aux_free} train frames {len(y['train'])} val frames {len(y['val'])}: "
          f"best val {r.best_metric:.4f} at epoch {r.best_epoch}, "
          f"accuracy {acc}, with BatchNorm statistics recomputed on the train frames {recal}, "
          f"{time.process_time() - t:.0f} CPU s")
    print("epoch, train loss, val:", [(h.epoch, round(h.train_loss, 3), round(h.val_metric, 3)) for h in r.history])


if __name__ == "__main__":
    main()

"""Train the weight-sharing supernet: sandwich rule with in-place distillation, data parallel under torchrun.

Each step (BigNAS / OFA): the largest subnet learns from the labels; the smallest and `n_random` random subnets
learn from (1 - w) * labels + w * distillation from the largest subnet's logits of the same batch (detached).
Their gradients add up before one optimizer step. Hidden channels are re-sorted by importance at the start of
every epoch. The subnets of a step are drawn from an RNG seeded by (seed, epoch, step), so all ranks train the
same subnets and a resumed run replays the same ones.

Batches come from tinycore.train.data.EpochLoader, as in `fit`: tensors or an app's augmenting DataLoader, in an
order fixed by (seed, epoch). BN statistics are recalibrated on `calib` batches (by default fixed train samples).

Distributed: with WORLD_SIZE > 1 (torchrun) the process group is joined through tinycore.train.distributed
(gloo on CPU, nccl on GPU), each rank reads its DistributedSampler shard, and after the sandwich's
backward passes the gradients are averaged with one all_reduce each. (torch's DistributedDataParallel reducer
expects one forward per backward over a fixed set of used parameters; the sandwich runs several different
subnets per step, so the reduction is written out here.) Rank 0 writes `supernet.pt` after every epoch;
a run that finds it resumes after its epoch.
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm

from tinycore.errors import TrainError
from tinycore.nas.space import Arch
from tinycore.nas.supernet import Supernet, recalibrate_bn
from tinycore.train import distributed
from tinycore.train.data import EpochLoader
from tinycore.train.loop import accuracy, distillation_loss, evaluate

CHECKPOINT_NAME = "supernet.pt"
CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class SupernetConfig:
    epochs: int = 20
    lr: float = 3e-3              # AdamW peak, cosine-decayed per step
    weight_decay: float = 1e-4
    batch_size: int = 64
    n_random: int = 2             # random subnets per step besides the largest and the smallest
    distill_weight: float = 0.5   # share of the in-place distillation term for the non-largest subnets
    temperature: float = 1.0
    calib_batches: int = 4        # batches of batch_size train samples for BN recalibration
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.n_random < 0 or not self.lr > 0:
            raise TrainError(f"supernet: epochs >= 1, batch_size >= 1, n_random >= 0 and lr > 0 needed, got {self}")


def sandwich(net: Supernet, rng: np.random.Generator, n_random: int) -> list[Arch]:
    space, w, r = net.space, net.width, net.resolution
    return [space.largest(w, r), space.smallest(w, r)] + [space.sample(rng, w, r) for _ in range(n_random)]


def calibration_batches(x: torch.Tensor, cfg: SupernetConfig) -> list[torch.Tensor]:
    """The same fixed train samples for every subnet's BN recalibration (a seeded choice)."""
    g = torch.Generator().manual_seed(cfg.seed + 7)
    idx = torch.randperm(len(x), generator=g)[:cfg.calib_batches * cfg.batch_size]
    return list(x[idx].split(cfg.batch_size))


def score_subnet(net: Supernet, arch: Arch, calib: list[torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
                 metric: Callable = accuracy) -> float:
    """Set the subnet, recalibrate its BN statistics, then the metric on the validation set."""
    net.set_active(arch)
    recalibrate_bn(net, calib)
    return evaluate(net, val, metric)


def _lr(cfg: SupernetConfig, step: int, total: int) -> float:
    return cfg.lr * 0.5 * (1.0 + np.cos(np.pi * step / max(total, 1)))


def _key(net: Supernet, cfg: SupernetConfig) -> dict[str, Any]:
    return {"space": net.space.describe(), "width": net.width, "resolution": net.resolution, "config": asdict(cfg)}


def _average_gradients(net: Supernet, world: int) -> None:
    for p in net.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad.div_(world)


def train_supernet(net: Supernet, train: Any, val: tuple[torch.Tensor, torch.Tensor], cfg: SupernetConfig,
                   out_dir: Path | None = None, loss_fn: Callable = F.cross_entropy, metric: Callable = accuracy,
                   progress: bool = True, calib: list[torch.Tensor] | None = None) -> list[dict[str, Any]]:
    """Train `net` in place; returns the per-epoch history (loss, largest/smallest subnet metric).

    `train`: an (x, y) pair of tensors or a DataLoader (e.g. with augmentation); `calib`: the BN recalibration
    batches for scoring (default: `calibration_batches` of the train tensors, which then must be a pair)."""
    if calib is None:
        if not isinstance(train, (tuple, list)):
            raise TrainError("supernet: with a DataLoader as train data, pass calib (BN recalibration batches)")
        calib = calibration_batches(train[0], cfg)
    ctx = distributed.start()
    try:
        return _train(net, train, val, cfg, out_dir, loss_fn, metric, progress, ctx, calib)
    finally:
        distributed.stop(ctx)


def _train(net, train, val, cfg, out_dir, loss_fn, metric, progress, ctx, calib) -> list[dict[str, Any]]:
    net.to(ctx.device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    path = Path(out_dir) / CHECKPOINT_NAME if out_dir is not None else None
    start, history = 0, []
    if path is not None and path.exists():
        ck = torch.load(path, map_location="cpu", weights_only=False)
        if ck.get("format") != CHECKPOINT_FORMAT or ck.get("key") != _key(net, cfg):
            raise TrainError(f"{path}: supernet checkpoint of other settings (space, width, resolution or "
                             f"training config); use another --out or delete it")
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        start, history = ck["epoch"], ck["history"]
    if ctx.enabled:
        for t in net.state_dict().values():
            dist.broadcast(t, src=0)
    loader = EpochLoader(train, cfg.batch_size, cfg.seed, ctx)
    steps = len(loader)
    if steps == 0:
        raise TrainError("supernet: the train data yield no batches")
    calib = [c.to(ctx.device) for c in calib]
    show = progress and ctx.is_main
    for epoch in range(start, cfg.epochs):
        net.sort_channels()
        net.train()
        total, count = 0.0, 0
        bar = tqdm(loader.epoch(epoch), total=steps, desc=f"supernet epoch {epoch + 1}/{cfg.epochs}",
                   file=sys.stderr, disable=not show, leave=False)
        for step, (x, y) in enumerate(bar):
            x, y = x.to(ctx.device), y.to(ctx.device)
            for g in opt.param_groups:
                g["lr"] = _lr(cfg, epoch * steps + step, cfg.epochs * steps)
            rng = np.random.default_rng([cfg.seed, epoch, step])
            opt.zero_grad(set_to_none=True)
            teacher = None
            for i, arch in enumerate(sandwich(net, rng, cfg.n_random)):
                net.set_active(arch)
                out = net(x)
                loss = loss_fn(out, y)
                if i == 0:
                    teacher = out.detach()
                elif cfg.distill_weight > 0:
                    loss = (1 - cfg.distill_weight) * loss + cfg.distill_weight * distillation_loss(
                        out, teacher, cfg.temperature)
                loss.backward()
                total, count = total + loss.item(), count + 1
            if ctx.enabled:
                _average_gradients(net, ctx.world_size)
            opt.step()
            bar.set_postfix(loss=f"{total / count:.4f}")
        bar.close()
        distributed.sync_buffers(net, ctx)
        w, r = net.width, net.resolution
        rec = {"epoch": epoch + 1, "train_loss": total / max(count, 1),
               "largest": score_subnet(net, net.space.largest(w, r), calib, val, metric),
               "smallest": score_subnet(net, net.space.smallest(w, r), calib, val, metric)}
        history.append(rec)
        if show:
            print(f"supernet epoch {epoch + 1}/{cfg.epochs}: loss {rec['train_loss']:.4f} largest "
                  f"{rec['largest']:.4f} smallest {rec['smallest']:.4f}", file=sys.stderr)
        if path is not None and ctx.is_main:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            torch.save({"format": CHECKPOINT_FORMAT, "key": _key(net, cfg), "model": net.state_dict(),
                        "optimizer": opt.state_dict(), "epoch": epoch + 1, "history": history,
                        "world_size": ctx.world_size}, tmp)
            os.replace(tmp, path)
        distributed.barrier(ctx)
    return history

"""The training loop every app shares: optimizer + cosine schedule, best checkpoint, resume, early stopping,
knowledge distillation, mixup, weight averaging (EMA) and DDP.

Checkpoint `out_dir/checkpoint.pt` (written by rank 0 after every epoch, atomically) holds:
  model        the best weights so far (what export and eval load)
  last_model, optimizer, epoch, best_metric, best_epoch, history   what resuming needs
  ema          with ema_decay: the averaged weights and their update count (`model` then holds averaged weights)
  meta         {'format': 1, 'config': TrainConfig dict, 'torch': version, 'world_size': n}; nothing about the
               architecture, so any model whose state_dict matches can load it.
A run finding a checkpoint resumes after its `epoch` and replays exactly what an uninterrupted run would do
(the learning rate, batch order and dropout masks are functions of seed, epoch and step).
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from tinycore.train import distributed
from tinycore.train.config import EpochRecord, TrainConfig, TrainError, TrainResult
from tinycore.train.data import Data, EpochLoader, eval_loader
from tinycore.train.ema import WeightEMA
from tinycore.train.mixup import mix_batch, mixed_loss

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MetricFn = Callable[[torch.Tensor, torch.Tensor], float]
CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = 1


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Top-1 accuracy of logits (N, K) against class indices (N,)."""
    return (outputs.argmax(dim=1) == targets).float().mean().item()


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher || student) on logits softened by T, times T**2 so gradients keep their scale (Hinton 2015)."""
    t = temperature
    return F.kl_div(F.log_softmax(student / t, dim=1), F.log_softmax(teacher / t, dim=1), reduction="batchmean",
                    log_target=True) * (t * t)


@torch.no_grad()
def evaluate(model: nn.Module, data: Data, metric: MetricFn = accuracy, *, batch_size: int = 256,
             device: str | torch.device | None = None) -> float:
    """metric(all outputs, all targets) over the whole set in eval mode (so AUC-like metrics work too)."""
    model = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
    if device is None:
        device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    outs, tgts = [], []
    for x, y in eval_loader(data, batch_size):
        outs.append(model(x.to(device)).float().cpu())
        tgts.append(y)
    model.train(was_training)
    return float(metric(torch.cat(outs), torch.cat(tgts)))


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True,
                               weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def cosine_lr(cfg: TrainConfig, step: int, total_steps: int) -> float:
    """The lr of `step`: a linear rise over cfg.warmup_epochs (a net from scratch at a high lr otherwise spends
    its first steps in a bad state), then a cosine decay to 0 at total_steps."""
    warm = total_steps * cfg.warmup_epochs // cfg.epochs
    if step < warm:
        return cfg.lr * (step + 1) / warm
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(total_steps - warm, 1)))


def _load_checkpoint(path: Path, model: nn.Module, opt: torch.optim.Optimizer) -> dict:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # damaged or truncated file
        raise TrainError(f"{path}: cannot read checkpoint ({e}); delete it to start afresh") from None
    if not isinstance(ckpt, dict) or ckpt.get("meta", {}).get("format") != CHECKPOINT_FORMAT:
        raise TrainError(f"{path}: not a tinycore checkpoint (format {CHECKPOINT_FORMAT})")
    try:
        model.load_state_dict(ckpt["last_model"])
    except RuntimeError as e:
        raise TrainError(f"{path}: checkpoint does not fit this model; use another --out or delete it. "
                         f"{str(e).splitlines()[0]}") from None
    opt.load_state_dict(ckpt["optimizer"])
    return ckpt


def save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _start_ema(model: nn.Module, cfg: TrainConfig, ckpt: dict | None, path: Path | None) -> WeightEMA | None:
    """The weight average of cfg.ema_decay (None without), resumed from a checkpoint that kept one."""
    if cfg.ema_decay is None:
        return None
    ema = WeightEMA(model, cfg.ema_decay)
    if ckpt is not None:
        if "ema" not in ckpt:
            raise TrainError(f"{path}: checkpoint was trained without ema_decay; resume without it, or use "
                             f"another --out")
        ema.load_state_dict(ckpt["ema"])
    return ema


def _better(a: float, b: float | None, maximize: bool) -> bool:
    return b is None or (a > b if maximize else a < b)


def fit(model: nn.Module, train_data: Data, val_data: Data, *, epochs: int, lr: float,
        loss: LossFn = F.cross_entropy, metric: MetricFn = accuracy, out_dir: str | Path | None = None,
        patience: int | None = None, teacher: nn.Module | None = None, distill_weight: float = 0.5,
        temperature: float = 4.0, optimizer: str = "adamw", weight_decay: float = 1e-4, batch_size: int = 64,
        maximize: bool = True, progress: bool = True, seed: int = 0, ema_decay: float | None = None,
        mixup_alpha: float | None = None, warmup_epochs: int = 0,
        device: str | torch.device | None = None) -> TrainResult:
    """Train `model` in place and leave it holding the best-val-metric weights.

    loss(outputs, targets) -> scalar; metric(all val outputs, all val targets) -> float (higher is better
    unless maximize=False). With a teacher the loss is (1 - w) * loss + w * distillation_loss. With ema_decay
    the val metric, the best weights and the returned model are those of the weights' moving average. With
    mixup_alpha each training batch is mixed with a shuffled copy of itself (tinycore.train.mixup). With
    warmup_epochs the lr rises linearly over those epochs before the cosine decay.
    """
    cfg = TrainConfig(epochs=epochs, lr=lr, optimizer=optimizer, weight_decay=weight_decay, batch_size=batch_size,
                      patience=patience, maximize=maximize, distill_weight=distill_weight, temperature=temperature,
                      seed=seed, ema_decay=ema_decay, mixup_alpha=mixup_alpha, warmup_epochs=warmup_epochs)
    ctx = distributed.start(device)
    try:
        return _fit(model, train_data, val_data, cfg, loss, metric, out_dir, teacher, progress, ctx)
    finally:
        distributed.stop(ctx)


def _fit(model, train_data, val_data, cfg, loss_fn, metric, out_dir, teacher, progress, ctx) -> TrainResult:
    model.to(ctx.device)
    opt = _optimizer(model, cfg)
    ckpt_path = Path(out_dir) / CHECKPOINT_NAME if out_dir is not None else None
    start_epoch, best_metric, best_epoch, history, best_state, ckpt = 0, None, 0, [], None, None
    if ckpt_path is not None and ckpt_path.exists():
        ckpt = _load_checkpoint(ckpt_path, model, opt)
        start_epoch, best_metric, best_epoch = ckpt["epoch"], ckpt["best_metric"], ckpt["best_epoch"]
        history, best_state = [EpochRecord(**h) for h in ckpt["history"]], ckpt["model"]
    ema = _start_ema(model, cfg, ckpt, ckpt_path)
    scored = ema.model if ema is not None else model  # what validation scores and the checkpoint keeps
    if teacher is not None:
        teacher.to(ctx.device).eval()
    net = nn.parallel.DistributedDataParallel(model) if ctx.enabled else model
    loader = EpochLoader(train_data, cfg.batch_size, cfg.seed, ctx)
    steps = len(loader)
    if steps == 0:
        raise TrainError("train: train_data yields no batches (fewer samples than one batch with drop_last?)")
    show = progress and ctx.is_main
    stopped = False
    for epoch in range(start_epoch, cfg.epochs):
        if cfg.patience is not None and epoch - best_epoch >= cfg.patience:
            stopped = True
            break
        torch.manual_seed(cfg.seed * 1_000_003 + epoch)  # dropout masks replay on resume
        net.train()
        lr0 = cosine_lr(cfg, epoch * steps, cfg.epochs * steps)
        total, count = 0.0, 0
        bar = tqdm(loader.epoch(epoch), total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", file=sys.stderr,
                   disable=not show, leave=False)
        for i, (x, y) in enumerate(bar):
            for g in opt.param_groups:
                g["lr"] = cosine_lr(cfg, epoch * steps + i, cfg.epochs * steps)
            x, y = x.to(ctx.device), y.to(ctx.device)
            if cfg.mixup_alpha is not None:
                x, perm, lam = mix_batch(x, cfg.mixup_alpha)
            out = net(x)
            batch_loss = loss_fn(out, y) if cfg.mixup_alpha is None else mixed_loss(loss_fn, out, y, perm, lam)
            if teacher is not None:
                with torch.no_grad():
                    t_out = teacher(x)
                batch_loss = ((1 - cfg.distill_weight) * batch_loss
                              + cfg.distill_weight * distillation_loss(out, t_out, cfg.temperature))
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            opt.step()
            if ema is not None:
                ema.update(model)
            total, count = total + batch_loss.item(), count + 1
            bar.set_postfix(loss=f"{total / count:.4f}")
        bar.close()
        distributed.sync_buffers(model, ctx)
        if ema is not None:
            distributed.sync_buffers(scored, ctx)
        val = evaluate(scored, val_data, metric, batch_size=max(cfg.batch_size, 256), device=ctx.device)
        history.append(EpochRecord(epoch + 1, total / count, val, lr0))
        if _better(val, best_metric, cfg.maximize):
            best_metric, best_epoch = val, epoch + 1
            best_state = {k: v.detach().cpu().clone() for k, v in scored.state_dict().items()}
        if show:
            print(f"epoch {epoch + 1}/{cfg.epochs}: loss {total / count:.4f} val {val:.4f} "
                  f"(best {best_metric:.4f} @ {best_epoch})", file=sys.stderr)
        if ckpt_path is not None and ctx.is_main:
            save_checkpoint(ckpt_path, {
                "model": best_state, "last_model": model.state_dict(), "optimizer": opt.state_dict(),
                "epoch": epoch + 1, "best_metric": best_metric, "best_epoch": best_epoch,
                "history": [asdict(h) for h in history],
                **({"ema": ema.state_dict()} if ema is not None else {}),
                "meta": {"format": CHECKPOINT_FORMAT, "config": cfg.to_dict(), "torch": str(torch.__version__),
                         "world_size": ctx.world_size}})
        distributed.barrier(ctx)
    if best_state is not None:
        model.load_state_dict(best_state)
    return TrainResult(best_metric=float(best_metric) if best_metric is not None else float("nan"),
                       best_epoch=best_epoch, epochs_run=len(history), resumed_from_epoch=start_epoch,
                       stopped_early=stopped, checkpoint=str(ckpt_path) if ckpt_path is not None else None,
                       config=cfg, history=tuple(history))

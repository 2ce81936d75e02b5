"""Quantization-aware fine-tuning: train through the int8 rounding so that `quantize` loses less.

Weights: each Conv2d/Linear weight is replaced (torch parametrization) by W_q / f where W_q is the BN-folded weight
W * f fake-quantized per output channel exactly as the converter will (symmetric, [-127, 127]) and f is the BN
factor gamma / sqrt(var + eps) with frozen statistics; so conv -> BN computes the folded, quantized conv.
Activations: every graph tensor is fake-quantized with the (scale, zero point) that calibration gives, re-measured
at the start of each epoch on the calibration inputs. Gradients pass straight through the rounding (STE).
Afterwards the parametrizations are removed and the returned plain float model goes to `quantize`.
"""
from __future__ import annotations

import copy
from typing import Callable, Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize

from tinycore.errors import CalibrationError
from tinycore.quant.capture import capture
from tinycore.quant.layers import Capture
from tinycore.quant.convert import value_qparams
from tinycore.quant.fold import bn_factor
from tinycore.quant.observe import WatchingInterpreter, as_float_batch, calibrate
from tinycore.quant.params import WEIGHT_MAX


def fake_quant(t: torch.Tensor, scale: float, zp: int) -> torch.Tensor:
    """Asymmetric int8 fake quantization with a straight-through gradient."""
    q = torch.clamp(torch.round(t / scale) + zp, -128, 127)
    return t + ((q - zp) * scale - t).detach()


class FoldedWeightFakeQuant(nn.Module):
    """Parametrization of a conv/linear weight: fold BN, fake-quantize per output channel, unfold (see module doc)."""

    def __init__(self, bn: nn.BatchNorm2d | None):
        super().__init__()
        self._bn = [bn]  # a list, so the BN is not registered twice as a submodule

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        bn = self._bn[0]
        shape = (-1,) + (1,) * (w.ndim - 1)
        f = bn_factor(bn)[0].view(shape) if bn is not None else torch.ones(1, device=w.device)
        f = torch.where(f.abs() > 1e-12, f, torch.ones_like(f))
        folded = w * f
        wmax = folded.detach().abs().amax(dim=tuple(range(1, w.ndim)), keepdim=True)
        scale = torch.where(wmax > 0, wmax / WEIGHT_MAX, torch.full_like(wmax, 1.0 / WEIGHT_MAX))
        q = torch.clamp(torch.round(folded / scale), -WEIGHT_MAX, WEIGHT_MAX) * scale
        return (folded + (q - folded).detach()) / f


def _weighted_modules(cap: Capture) -> list[tuple[nn.Module, nn.BatchNorm2d | None]]:
    out, seen = [], set()
    for layer in cap.layers:
        if layer.weight is None:
            continue
        module = cap.gm.get_submodule(layer.modules[0])
        bn = next((m for m in (cap.gm.get_submodule(p) for p in layer.modules[1:] if _is_module(cap, p))
                   if isinstance(m, nn.BatchNorm2d)), None)
        if id(module) not in seen:  # a module called twice is parametrized once
            seen.add(id(module))
            out.append((module, bn))
    return out


def _is_module(cap: Capture, path: str) -> bool:
    try:
        cap.gm.get_submodule(path)
        return True
    except AttributeError:
        return False


def fake_quant_finetune(model: nn.Module, train_batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                        calibration_inputs: Iterable, epochs: int = 2, lr: float = 1e-3,
                        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
                        weight_decay: float = 0.0) -> nn.Module:
    """Fine-tune a copy of `model` with int8 fake quantization; returns the copy (eval mode, plain float).

    train_batches: re-iterable (a list or DataLoader) of (inputs, targets), read once per epoch.
    calibration_inputs: float batches as for `quantize` (use the same ones afterwards). BN statistics stay frozen.
    """
    model = copy.deepcopy(model).eval()
    calib = [as_float_batch(b, f"calibration batch {i}") for i, b in enumerate(calibration_inputs)]
    if not calib:
        raise CalibrationError("calibration_inputs is empty: QAT needs the calibration batches to set activation "
                               "ranges")
    cap = capture(model, calib[0][:2])
    watch = {v.node for v in cap.values.values()}
    weighted = _weighted_modules(cap)
    for module, bn in weighted:
        parametrize.register_parametrization(module, "weight", FoldedWeightFakeQuant(bn))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    try:
        for _ in range(epochs):
            ranges = calibrate(cap.gm, {v.node for v in cap.values.values() if v.share is None}, calib)
            qp = value_qparams(cap, ranges)
            by_node = {v.node: qp[v.name] for v in cap.values.values()}
            interp = WatchingInterpreter(cap.gm, watch, transform=lambda n, t: fake_quant(t, *by_node[n]))
            for x, y in train_batches:
                loss = loss_fn(interp.run(as_float_batch(x, "training batch")), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
    finally:
        for module, _ in weighted:
            if parametrize.is_parametrized(module, "weight"):
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
    return model.eval()

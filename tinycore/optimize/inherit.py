"""Start a candidate from the user's trained weights instead of from scratch ("prune, then distil").

`inherit(student, teacher, space, genome)` copies into the candidate's freshly built module the teacher's weights
of every layer the candidate keeps (`UserSpace.kept_units`), sliced to the channels it keeps:

- a conv (or non-final FC, or SE squeeze) that the candidate narrows keeps its filters with the largest L1 norm
  (the teacher's BatchNorm folded in first, so the norm is that of the filter as it acts, |gamma| / sigma included),
  in their original order; one at full width keeps all of them, so the identity genome is the teacher itself;
- a depthwise conv, and every input axis, follow the channels the layer before kept;
- an identity residual's body ends on the channels of its input (the add needs them); a projected residual's body
  and shortcut end on one set, ranked by the sum of both paths' filter norms;
- a depthwise kernel made larger is zero-padded around the teacher's (same function), a smaller one is its centre;
- a dropped shape-keeping layer just disappears; resolution changes nothing (weights do not depend on it), except a
  Flatten -> FC whose input size follows the map: that FC then keeps its fresh initialisation.

The student's BatchNorm (the candidate trains with it) is set to the identity plus the teacher's folded bias, so
the student's function is the teacher's restricted to the kept channels. `keep_order` ranks a stage's droppable
layers by how much removing each from the teacher costs on a data sample (least harmful dropped first).

Where it helps: a candidate that keeps most of a trained model (the inspect demo: 0.87 val after one epoch, from
scratch the same net sits at chance for ~25). Where it does not: a candidate keeping a quarter of a tiny model's
channels (the 4k-parameter toy of tests/optimize) starts at chance either way and learned less from the slice than
from scratch in 12 epochs; `DistillConfig(inherit=False)` is the switch.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from tinycore.errors import SpecError
from tinycore.optimize.space import Genome, UserSpace
from tinycore.spec.build import ConvBNAct, ProjectedResidualBlock, ResidualBlock, SEBlock, SpecModel
from tinycore.spec.layers import FC, SE, Conv, DWConv, Flatten, Layer, ModelSpec, Residual
from tinycore.spec.shapes import infer_layer


@dataclass
class Inherited:
    """What `inherit` copied: layer paths (student module names) filled from the teacher, and those left fresh."""
    copied: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)


def _modules(model: SpecModel) -> list[nn.Module]:
    return [m for section in (model.stem, model.blocks, model.head) for m in section]


def _flat(spec: ModelSpec) -> list[Layer]:
    return list(spec.stem) + list(spec.blocks) + list(spec.head)


def folded(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of a conv/linear module with its BatchNorm (if any) folded in."""
    lin = m.conv if isinstance(m, ConvBNAct) else (m.fc if isinstance(m, nn.Sequential) else m)
    w = lin.weight.detach().clone()
    b = lin.bias.detach().clone() if lin.bias is not None else torch.zeros(w.shape[0])
    bn = getattr(m, "bn", None)
    if bn is not None:
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        w = w * scale.reshape(-1, *([1] * (w.dim() - 1)))
        b = (b - bn.running_mean) * scale + bn.bias.detach()
    return w, b


def _put(m: nn.Module, w: torch.Tensor, b: torch.Tensor, where: str) -> None:
    """Set a student conv/linear (+BN) module to compute w * x + b."""
    lin = m.conv if isinstance(m, ConvBNAct) else (m.fc if isinstance(m, nn.Sequential) else m)
    if tuple(lin.weight.shape) != tuple(w.shape):
        raise SpecError(f"{where}: inherited weight {tuple(w.shape)} does not fit the candidate's "
                        f"{tuple(lin.weight.shape)}")
    bn = getattr(m, "bn", None)
    with torch.no_grad():
        lin.weight.copy_(w)
        if bn is None:
            lin.bias.copy_(b)
            return
        if lin.bias is not None:
            lin.bias.zero_()
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)  # var + eps == 1: the eval-mode BN adds b, nothing else
        bn.weight.fill_(1.0)
        bn.bias.copy_(b)


def _fit_kernel(w: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """Centre-pad with zeros or centre-crop the last two axes to (kh, kw)."""
    h, wd = w.shape[-2:]
    if (h, wd) == (kh, kw):
        return w
    out = torch.zeros(*w.shape[:-2], kh, kw, dtype=w.dtype)
    ch, cw = min(h, kh), min(wd, kw)
    sh, sw, dh, dw = (h - ch) // 2, (wd - cw) // 2, (kh - ch) // 2, (kw - cw) // 2
    out[..., dh:dh + ch, dw:dw + cw] = w[..., sh:sh + ch, sw:sw + cw]
    return out


def top_channels(importance: torch.Tensor, n: int) -> np.ndarray:
    """The `n` indices with the largest importance, in increasing index order (ties: the lower index)."""
    if n >= len(importance):
        return np.arange(len(importance))
    order = np.argsort(-importance.numpy(), kind="stable")[:n]
    return np.sort(order)


def _l1(w: torch.Tensor) -> torch.Tensor:
    return w.abs().reshape(w.shape[0], -1).sum(1)


class _Walk:
    """One pass over teacher and student layer lists, carrying the teacher channel indices of the current tensor."""

    def __init__(self, report: Inherited) -> None:
        self.report = report

    def layer(self, lt: Layer, ls: Layer, mt: nn.Module, ms: nn.Module, idx: np.ndarray | None,
              in_t, in_s, where: str, force: np.ndarray | None = None) -> np.ndarray | None:
        """Copy one layer; returns the kept channel indices of its output (None: not traceable, left fresh)."""
        out_s, _, _ = infer_layer(ls, in_s, where)
        if isinstance(lt, (Conv, FC)):
            w, b = folded(mt)
            n = out_s[0]
            keep = force if force is not None else top_channels(_l1(w), n)
            if idx is None or len(keep) != n:
                self.report.fresh.append(where)
                return keep if len(keep) == n else None
            w = w[keep][:, idx]
            if isinstance(lt, Conv):
                lin = ms.conv
                w = _fit_kernel(w, *lin.weight.shape[-2:])
            _put(ms, w, b[keep], where)
            self.report.copied.append(where)
            return keep
        if isinstance(lt, (DWConv, SE)) and idx is None:
            self.report.fresh.append(where)  # its input channels are not traceable to the teacher's
            return None
        if isinstance(lt, DWConv):
            w, b = folded(mt)
            _put(ms, _fit_kernel(w[idx], *ms.conv.weight.shape[-2:]), b[idx], where)
            self.report.copied.append(where)
            return idx
        if isinstance(lt, SE):
            assert isinstance(mt, SEBlock) and isinstance(ms, SEBlock)
            sq = top_channels(_l1(mt.reduce.weight.detach()), ls.squeeze)
            _put(ms.reduce, mt.reduce.weight.detach()[sq][:, idx], mt.reduce.bias.detach()[sq], f"{where}.reduce")
            _put(ms.expand, mt.expand.weight.detach()[idx][:, sq], mt.expand.bias.detach()[idx], f"{where}.expand")
            self.report.copied.append(where)
            return idx
        if isinstance(lt, Residual):
            return self.residual(lt, ls, mt, ms, idx, in_t, in_s, where)
        if isinstance(lt, Flatten):
            if idx is None or len(in_t) != 3:
                return idx
            hw_t, hw_s = in_t[1] * in_t[2], in_s[1] * in_s[2]
            if hw_t != hw_s:
                return None
            return (idx[:, None] * hw_t + np.arange(hw_t)[None, :]).reshape(-1)
        if type(lt).__name__ in ("MBConv", "DWSep"):
            raise SpecError(f"{where}: weight inheritance reads imported layer lists (conv, depthwise, residual, "
                            f"SE, fc); {lt.kind} is a built-in block")
        return idx  # pools, activations, dropout: channels unchanged

    def seq(self, lts, lss, mts, mss, idx, in_t, in_s, where: str, force: np.ndarray | None) -> np.ndarray | None:
        """A layer list; `force` is the output channel set of its last channel-setting layer."""
        last = max((i for i, x in enumerate(lts) if isinstance(x, (Conv, FC))), default=-1)
        for i, (lt, ls) in enumerate(zip(lts, lss)):
            f = force if i == last else None
            idx_next = self.layer(lt, ls, mts[i], mss[i], idx, in_t, in_s, f"{where}.{i}", f)
            in_t = infer_layer(lt, in_t, where)[0]
            in_s = infer_layer(ls, in_s, where)[0]
            idx = idx_next
        return idx

    def residual(self, lt: Residual, ls: Residual, mt, ms, idx, in_t, in_s, where: str) -> np.ndarray | None:
        if not lt.shortcut:
            assert isinstance(mt, ResidualBlock)
            self.seq(lt.body, ls.body, list(mt.body), list(ms.body), idx, in_t, in_s, f"{where}.body", idx)
            return idx
        assert isinstance(mt, ProjectedResidualBlock)
        out_s = infer_layer(ls, in_s, where)[0]
        ends = [max(i for i, x in enumerate(path) if isinstance(x, (Conv, FC))) for path in (lt.body, lt.shortcut)]
        importance = _l1(folded(mt.body[ends[0]])[0]) + _l1(folded(mt.shortcut[ends[1]])[0])
        keep = top_channels(importance, out_s[0])
        self.seq(lt.body, ls.body, list(mt.body), list(ms.body), idx, in_t, in_s, f"{where}.body", keep)
        self.seq(lt.shortcut, ls.shortcut, list(mt.shortcut), list(ms.shortcut), idx, in_t, in_s,
                 f"{where}.shortcut", keep)
        return keep


def inherit(student: SpecModel, teacher: SpecModel, space: UserSpace, g: Genome) -> Inherited:
    """Fill `student` (built from `space.to_spec(g)`) from `teacher` (built from `space.spec`, trained); returns
    which layers were copied. The teacher is not modified."""
    report = Inherited()
    walk = _Walk(report)
    t_layers, t_mods = _flat(space.spec), _modules(teacher)
    s_layers, s_mods = _flat(student.spec), _modules(student)
    kept = space.kept_units(g)
    if len(kept) != len(s_layers):
        raise SpecError(f"{student.spec.name}: {len(s_layers)} layers, genome {g.short()} keeps {len(kept)}")
    shapes_t, shape = [], space.spec.input.shape()
    for i, lt in enumerate(t_layers):
        shapes_t.append(shape)
        shape = infer_layer(lt, shape, f"layer {i}")[0]
    idx: np.ndarray | None = np.arange(space.spec.input.shape()[0])
    in_s = student.spec.input.shape()
    for j, i in enumerate(kept):
        idx = walk.layer(t_layers[i], s_layers[j], t_mods[i], s_mods[j], idx, shapes_t[i], in_s, f"blocks.{j}")
        in_s = infer_layer(s_layers[j], in_s, f"blocks.{j}")[0]
    return report


def keep_order(space: UserSpace, teacher: SpecModel, x: np.ndarray, batch: int = 128,
               progress: bool = False) -> tuple[int, ...]:
    """The droppable layers of `space`, those whose removal changes the teacher's outputs least last (the first
    `depth` of a stage are kept): harm = mean squared change of the logits on `x` with the layer replaced by the
    identity. Deterministic for a given teacher and `x`. One pass of the teacher over `x` per droppable layer
    (MobileNetV1 1.0 at 224: 17 passes over 512 frames, many minutes: hence the progress bar)."""
    from tqdm import tqdm

    mods = _modules(teacher)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def logits() -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([teacher(xt[i:i + batch]) for i in range(0, len(xt), batch)])

    teacher.eval()
    ref = logits()
    harm = {}
    for i in tqdm(space.droppable(), desc="layer drop order", file=sys.stderr, disable=not progress):
        section, name = _locate(teacher, mods[i])
        setattr(section, name, nn.Identity())
        try:
            harm[i] = float(((logits() - ref) ** 2).mean())
        finally:
            setattr(section, name, mods[i])
    return tuple(sorted(harm, key=lambda i: (-harm[i], i)))


def _locate(model: SpecModel, module: nn.Module) -> tuple[nn.Sequential, str]:
    for section in (model.stem, model.blocks, model.head):
        for name, m in section.named_children():
            if m is module:
                return section, name
    raise AssertionError("module not found in its model")


def match_bn_statistics(model: nn.Module, x: np.ndarray, batch: int = 128) -> None:
    """Give every BatchNorm the running statistics of its inputs on `x` while keeping its eval-mode function
    (gamma and beta rescaled to match): an inherited BN set to 'add the bias' would otherwise normalise each
    channel to unit variance at the first training step and undo the teacher's scales."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    sums: dict[nn.Module, list[torch.Tensor]] = {m: [] for m in bns}

    def hook(m: nn.Module, inputs: tuple[torch.Tensor, ...], _out: torch.Tensor) -> None:
        t = inputs[0].detach()
        dims = [0] + list(range(2, t.dim()))
        sums[m].append(torch.stack([t.sum(dims), (t * t).sum(dims), torch.full_like(t.sum(dims), t.numel() / t.shape[1])]))

    handles = [m.register_forward_hook(hook) for m in bns]
    was = model.training
    model.eval()
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    try:
        with torch.no_grad():
            for i in range(0, len(xt), batch):
                model(xt[i:i + batch])
    finally:
        for h in handles:
            h.remove()
    with torch.no_grad():
        for m in bns:
            s, s2, n = torch.stack(sums[m]).sum(0)
            mean, var = s / n, (s2 / n - (s / n) ** 2).clamp_min(0)
            scale = m.weight / torch.sqrt(m.running_var + m.eps)
            shift = m.bias - m.running_mean * scale
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
            m.weight.copy_(scale * torch.sqrt(var + m.eps))
            m.bias.copy_(shift + mean * scale)
    model.train(was)

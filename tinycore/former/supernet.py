"""ViT supernet with weight entanglement (AutoFormer, Chen et al. 2021) in one MCUFormer space (ratio, tokens).

Every weight is stored at the largest choice; a subnet uses the leading slice: the first `dim` embedding channels
of the patch conv, LayerNorms, projections and classifier; the first `mlp_hidden(dim, ratio)` hidden units of each
MLP; the first `heads` splits of its q/k/v (head dim = dim / heads, as tinycore.spec builds it); the first `depth`
blocks. A linear the spec factorizes (`tinycore.spec.shapes.low_rank` at the subnet's sizes) uses the leading
r ranks of stored factors V (r_max x in) and U (out x r_max); one left full uses the stored full matrix.

The supernet duck-types `tinycore.nas.supernet.Supernet` for `tinycore.nas.train_supernet.train_supernet`
(sandwich rule, in-place distillation, checkpoints/resume, torchrun): `space` answers largest/smallest/sample/
describe, `width` and `resolution` carry the space's ratio and tokens. `extract` returns the plain spec's model with
the active weights, which computes what the supernet computes and can be fine-tuned like any model.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tinycore.errors import SpecError
from tinycore.former.space import FormerSubnetSpace, ViTArch, ViTChoices
from tinycore.former.space_evolution import FormerSpace
from tinycore.spec.build import SpecModel, build_model
from tinycore.spec.shapes import low_rank, mlp_hidden


class EntangledLinear(nn.Module):
    """A linear stored at (out_max, in_max) with low-rank factors at the largest rank of `rank_ratio`."""

    def __init__(self, in_max: int, out_max: int, rank_ratio: float) -> None:
        super().__init__()
        self.rank_ratio = rank_ratio
        ref = nn.Linear(in_max, out_max)
        self.weight, self.bias = nn.Parameter(ref.weight.detach().clone()), nn.Parameter(ref.bias.detach().clone())
        r_max = max(1, int(round(rank_ratio * min(in_max, out_max)))) if rank_ratio < 1 else 0
        self.v = nn.Parameter(nn.Linear(in_max, r_max, bias=False).weight.detach().clone()) if r_max else None
        self.u = nn.Parameter(nn.Linear(r_max, out_max, bias=False).weight.detach().clone()) if r_max else None

    def weights(self, n_in: int, n_out: int) -> dict[str, torch.Tensor]:
        """The active weights under the names tinycore.spec gives them (nn.Linear or LowRankLinear)."""
        r = low_rank(n_in, n_out, self.rank_ratio)
        if r is None:
            return {"weight": self.weight[:n_out, :n_in], "bias": self.bias[:n_out]}
        return {"v.weight": self.v[:r, :n_in], "u.weight": self.u[:n_out, :r], "u.bias": self.bias[:n_out]}

    def run(self, x: torch.Tensor, n_out: int) -> torch.Tensor:
        w = self.weights(x.shape[-1], n_out)
        if "weight" in w:
            return F.linear(x, w["weight"], w["bias"])
        return F.linear(F.linear(x, w["v.weight"]), w["u.weight"], w["u.bias"])


class EntangledNorm(nn.LayerNorm):
    def run(self, x: torch.Tensor) -> torch.Tensor:
        d = x.shape[-1]
        return F.layer_norm(x, (d,), self.weight[:d], self.bias[:d], self.eps)


class EntangledBlock(nn.Module):
    def __init__(self, dim: int, hidden: int, rank_ratio: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = EntangledNorm(dim), EntangledNorm(dim)
        self.q, self.k, self.v, self.proj = (EntangledLinear(dim, dim, rank_ratio) for _ in range(4))
        self.fc1, self.fc2 = EntangledLinear(dim, hidden, rank_ratio), EntangledLinear(hidden, dim, rank_ratio)

    def run(self, x: torch.Tensor, heads: int, mlp_ratio: float) -> torch.Tensor:
        b, t, d = x.shape
        y = self.norm1.run(x)
        split = lambda z: z.reshape(b, t, heads, d // heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q.run(y, d)), split(self.k.run(y, d)), split(self.v.run(y, d))
        a = torch.softmax(q @ k.transpose(-1, -2) * (d // heads) ** -0.5, dim=-1)
        x = x + self.proj.run((a @ v).transpose(1, 2).reshape(b, t, d), d)
        h = self.fc1.run(self.norm2.run(x), mlp_hidden(d, mlp_ratio))
        return x + self.fc2.run(F.gelu(h), d)


class FormerSupernet(nn.Module):
    def __init__(self, choices: ViTChoices, space: FormerSpace) -> None:
        super().__init__()
        self.choices, self.former_space = choices, space
        self.space = FormerSubnetSpace(choices, space)
        self.width, self.resolution = float(space.rank_ratio), int(space.tokens)
        big = choices.largest()
        d, p = big.dim, choices.patch(space)
        self.patch = nn.Conv2d(choices.in_channels, d, p, p)
        self.pos = nn.Parameter(torch.zeros(1, space.tokens, d)) if choices.pos_embed else None
        hidden = mlp_hidden(d, max(choices.mlp_ratios))
        self.blocks = nn.ModuleList(EntangledBlock(d, hidden, space.rank_ratio) for _ in range(max(choices.depths)))
        self.norm = EntangledNorm(d)
        self.fc = EntangledLinear(d, choices.classes, 1.0)
        self.active = big

    def set_active(self, arch: ViTArch) -> None:
        c = self.choices
        if arch.dim not in c.dims or len(arch.heads) not in c.depths or len(arch.mlp_ratios) != len(arch.heads) \
                or any(h not in c.heads_for(arch.dim) for h in arch.heads) \
                or any(m not in c.mlp_ratios for m in arch.mlp_ratios):
            raise SpecError(f"former supernet: {arch.short()} is not a subnet of {c}")
        self.active = arch

    def sort_channels(self) -> None:
        """No channel re-sorting: entangled slices keep their order (AutoFormer)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.active
        y = F.conv2d(x, self.patch.weight[:a.dim], self.patch.bias[:a.dim], stride=self.patch.stride)
        y = y.flatten(2).transpose(1, 2)
        if self.pos is not None:
            y = y + self.pos[..., :a.dim]
        for blk, h, m in zip(self.blocks, a.heads, a.mlp_ratios):
            y = blk.run(y, h, m)
        return self.fc.run(self.norm.run(y).mean(dim=1), self.choices.classes)

    @torch.no_grad()
    def extract(self, arch: ViTArch | None = None) -> SpecModel:
        """The plain spec's model of `arch` (default: the active one) holding copies of the active weights."""
        if arch is not None:
            self.set_active(arch)
        a, d = self.active, self.active.dim
        model = build_model(self.choices.to_spec(a, self.former_space))
        state = {"stem.patch_embed.proj.weight": self.patch.weight[:d],
                 "stem.patch_embed.proj.bias": self.patch.bias[:d],
                 "head.token_pool.norm.weight": self.norm.weight[:d], "head.token_pool.norm.bias": self.norm.bias[:d]}
        if self.pos is not None:
            state["stem.patch_embed.pos"] = self.pos[..., :d]
        state.update({f"head.fc.{k}": v for k, v in self.fc.weights(d, self.choices.classes).items()})
        for i, (blk, m) in enumerate(zip(self.blocks, a.mlp_ratios)):
            pre, hid = f"blocks.{i}.", mlp_hidden(d, m)
            for n in ("norm1", "norm2"):
                norm = getattr(blk, n)
                state.update({pre + f"{n}.weight": norm.weight[:d], pre + f"{n}.bias": norm.bias[:d]})
            for n in ("q", "k", "v", "proj"):
                state.update({pre + f"attn.{n}.{k}": w for k, w in getattr(blk, n).weights(d, d).items()})
            state.update({pre + f"mlp.0.{k}": w for k, w in blk.fc1.weights(d, hid).items()})
            state.update({pre + f"mlp.2.{k}": w for k, w in blk.fc2.weights(hid, d).items()})
        model.load_state_dict({k: v.clone() for k, v in state.items()}, strict=True)
        model.train(self.training)
        return model


@torch.no_grad()
def inherit_weights(new: FormerSupernet, old: FormerSupernet) -> None:
    """Start `new` (another space) from `old`'s weights, so the supernet trains on from its resume point: tensors
    of equal shape are copied; low-rank factors keep their leading min(r_old, r_new) ranks (new ranks stay as
    initialised); a position embedding is resampled linearly along the tokens; the patch kernel is resized
    bilinearly to the new patch size (FlexiViT-style resize, scaled so a constant patch gives the same
    projection)."""
    if new.choices != old.choices:
        raise SpecError("former supernet: weights are inherited only between spaces of the same choices")
    src = dict(old.named_parameters())
    for name, p in new.named_parameters():
        q = src.get(name)
        if q is None:
            continue
        if q.shape == p.shape:
            p.copy_(q)
        elif name == "pos":  # another token count: resampled along the tokens
            p.copy_(F.interpolate(q.transpose(1, 2), size=p.shape[1], mode="linear", align_corners=False)
                    .transpose(1, 2))
        elif name == "patch.weight":
            area_old, area_new = q.shape[-2] * q.shape[-1], p.shape[-2] * p.shape[-1]
            p.copy_(F.interpolate(q, size=p.shape[-2:], mode="bilinear", align_corners=False) * (area_old / area_new))
        else:  # low-rank factors: v (r, in), u (out, r)
            idx = tuple(slice(0, min(a, b)) for a, b in zip(p.shape, q.shape))
            p[idx] = q[idx]

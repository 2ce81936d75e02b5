"""quantize_vit(model, calibration) -> int8 graph of a ViT spec model (MCUFormer, issue #14).

The ViT modules (`tinycore.spec.vit_build`) are walked in their own order, not traced: each step computes the float
value on the calibration batch, takes its min/max for the tensor's (scale, zero point) and appends the int8 op.
Supported: patch embedding with or without position embedding, an optional class token, pre-norm blocks (full
or low-rank linears), mean or class-token pooling with its LayerNorm, one linear classifier.
Softmax's 1/sqrt(head dim) is folded into its beta (TFLite's way).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from tinycore.errors import UnsupportedError
from tinycore.ir.graph import Graph, Op, Tensor
from tinycore.ir.validate import validate_graph
from tinycore.quant.params import activation_qparams, add_params, quantize_weights, requant_multipliers
from tinycore.runtime.fixedpoint import quantize_multiplier
from tinycore.runtime.ops.gelu import gelu_table
from tinycore.runtime.ops.layer_norm import layer_norm_params
from tinycore.spec.vit_build import Block, ClassTokenModule, LowRankLinear, PatchEmbedding, TokenPooling
from tinycore.tflite.params import softmax_params


class _Builder:
    """Appends int8 ops; `value[name]` is the float batch behind each activation tensor."""

    def __init__(self) -> None:
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.value: dict[str, torch.Tensor] = {}

    def act(self, name: str, value: torch.Tensor, shape: tuple[int, ...], qparams: tuple[float, int] | None = None):
        s, z = qparams or activation_qparams(float(value.min()), float(value.max()))
        self.tensors[name] = Tensor(name, tuple(shape), "int8", (s,), z)
        self.value[name] = value
        return name

    def const(self, name: str, arr: np.ndarray) -> str:
        self.tensors[name] = Tensor(name, tuple(arr.shape), str(arr.dtype), (1.0,), 0, arr)
        return name

    def const_act(self, name: str, value: torch.Tensor, qparams: tuple[float, int] | None = None) -> str:
        """A learned float constant (position embedding, class token) as an int8 operand of an activation op;
        its float value stays the float one (the reference the next ranges are taken from)."""
        s, z = qparams or activation_qparams(float(value.min()), float(value.max()))
        data = np.clip(np.round(value.detach().double().numpy() / s) + z, -128, 127).astype(np.int8)
        self.tensors[name] = Tensor(name, tuple(data.shape), "int8", (s,), z, data)
        self.value[name] = value.detach()
        return name

    def q(self, name: str) -> tuple[float, int]:
        t = self.tensors[name]
        return t.scale[0], t.zero_point

    def op(self, kind: str, inputs: list[str], out: str, attrs: dict) -> str:
        self.ops.append(Op(kind, out, inputs, [out], attrs))
        return out

    def same_q(self, kind: str, src: str, out: str, value: torch.Tensor, shape, attrs: dict) -> str:
        """reshape / transpose: bytes move, quantization stays."""
        self.act(out, value, shape, self.q(src))
        return self.op(kind, [src], out, attrs)

    def weighted(self, kind: str, src: str, out: str, value, shape, w: np.ndarray, b: np.ndarray, attrs: dict,
                 qparams: tuple[float, int] | None = None) -> str:
        s_in, z_in = self.q(src)
        self.act(out, value, shape, qparams)
        s_out, z_out = self.q(out)
        w_q, w_scale, b_q = quantize_weights(w, b, s_in)
        mult, shift = requant_multipliers(s_in, w_scale, s_out)
        consts = [self.const(f"{out}.{p}", a) for p, a in (("w", w_q), ("b", b_q), ("m", mult), ("s", shift))]
        return self.op(kind, [src, *consts], out, dict(input_zp=z_in, output_zp=z_out, act_min=-128, act_max=127,
                                                       **attrs))

    def linear(self, m: nn.Module, src: str, name: str) -> str:
        """A per-token FC, or two for a low-rank layer (V then U)."""
        parts = [(m.v, f"{name}.v"), (m.u, f"{name}.u")] if isinstance(m, LowRankLinear) else [(m, name)]
        for lin, out in parts:
            x = self.value[src]
            y = lin(x)
            b = np.zeros(lin.out_features) if lin.bias is None else lin.bias.detach().double().numpy()
            src = self.weighted("fully_connected_s8", src, out, y, (1, *y.shape[1:]),
                                lin.weight.detach().double().numpy(), b, {})
        return src

    def fc_rows(self, m: nn.Module, src: str, name: str, rows: slice) -> str:
        """Output rows `rows` of a linear layer as a per-token FC (low-rank: the shared V output, then U's rows)."""
        if isinstance(m, LowRankLinear):
            shared = f"{name}.v"
            if shared not in self.tensors:
                self.linear(m.v, src, shared)
            src, m = shared, m.u
        w = m.weight.detach().double()[rows]
        b = m.bias.detach().double()[rows]
        y = self.value[src].double() @ w.T + b
        return self.weighted("fully_connected_s8", src, f"{name}.h{rows.start}", y.float(), (1, *y.shape[1:]),
                             w.numpy(), b.numpy(), {})

    def attention_per_head(self, att: nn.Module, h: str, name: str) -> str:
        """MCUFormer's per-head schedule: q, k, v, scores, softmax and context of one head at a time, the output
        projection split by heads and summed with adds; only one head's (T, T) scores are ever live."""
        d = self.value[h].shape[-1]
        dh = d // att.heads
        # a low-rank projection U V splits V's columns by head; the summed rank-r parts then go through U once
        low = isinstance(att.proj, LowRankLinear)
        first = att.proj.v if low else att.proj
        out = None
        for i in range(att.heads):
            rows = slice(i * dh, (i + 1) * dh)
            q, k, v = (self.fc_rows(m, h, f"{name}.{p}", rows) for m, p in ((att.q, "q"), (att.k, "k"), (att.v, "v")))
            ctx = self.scaled_attention(q, k, v, f"{name}.h{i}")
            w = first.weight.detach().double()[:, rows]
            n_out = w.shape[0]
            b = first.bias.detach().double() if i == 0 and first.bias is not None \
                else torch.zeros(n_out, dtype=torch.float64)
            y = self.value[ctx].double() @ w.T + b
            pname = f"{name}.proj.v.h{i}" if low else f"{name}.proj.h{i}"
            part = self.weighted("fully_connected_s8", ctx, pname, y.float(), (1, *y.shape[1:]), w.numpy(), b.numpy(),
                                 {})
            sname = f"{name}.proj.v.sum{i}" if low else f"{name}.proj.sum{i}"
            out = part if out is None else self.add(out, part, sname)
        if low:
            out = self.linear(att.proj.u, out, f"{name}.proj.u")
        return out

    def scaled_attention(self, q: str, k: str, v: str, name: str) -> str:
        """softmax(q k^T / sqrt(dh)) v on (1, ..., T, dh) tensors; the 1/sqrt(dh) goes into softmax's beta."""
        scores = self.matmul(q, k, f"{name}.scores", self.value[q] @ self.value[k].transpose(-1, -2), True)
        dh = self.value[q].shape[-1]
        params = softmax_params(self.q(scores)[0], dh ** -0.5)
        if params is None:
            raise UnsupportedError(f"{name}: attention scores scale {self.q(scores)[0]:.3g} too small for the int8 "
                                   f"softmax (TFLite needs beta * scale * 2**26 > 1)")
        a = torch.softmax(self.value[scores] * dh ** -0.5, dim=-1)
        self.act(f"{name}.attn", a, (1, *a.shape[1:]), (1 / 256, -128))
        self.op("softmax_s8", [scores], f"{name}.attn", params)
        return self.matmul(f"{name}.attn", v, f"{name}.ctx", a @ self.value[v], False)

    def read_token0(self, src: str, t: int) -> str:
        """Token 0 of (1, T, D) as (1, 1, D): a constant one-hot (1, 1, T) row times the tokens, at scale 1 and
        multiplier 1, so the int8 values are copied exactly."""
        onehot = np.zeros((1, 1, t), np.int8)
        onehot[..., 0] = 1
        self.tensors["head.cls.select"] = Tensor("head.cls.select", (1, 1, t), "int8", (1.0,), 0, onehot)
        self.value["head.cls.select"] = torch.from_numpy(onehot.astype(np.float32))
        return self.matmul("head.cls.select", src, "head.cls", self.value[src][:, :1], False, self.q(src))

    def layer_norm(self, ln: nn.LayerNorm, src: str, out: str) -> str:
        y = ln(self.value[src])
        self.act(out, y, (1, *y.shape[1:]))
        s, z = self.q(out)
        p = layer_norm_params(ln.weight.detach().double().numpy(), ln.bias.detach().double().numpy(), s, z)
        return self.op("layer_norm_s8", [src, self.const(f"{out}.g", p["gamma"]), self.const(f"{out}.b", p["bias"])],
                       out, p["attrs"])

    def add(self, a: str, b: str, out: str, qparams: tuple[float, int] | None = None) -> str:
        y = self.value[a] + self.value[b]
        self.act(out, y, (1, *y.shape[1:]), qparams)
        (s1, z1), (s2, z2), (so, zo) = self.q(a), self.q(b), self.q(out)
        return self.op("add_s8", [a, b], out, dict(act_min=-128, act_max=127, **add_params(s1, z1, s2, z2, so, zo)))

    def matmul(self, a: str, b: str, out: str, value: torch.Tensor, transpose_b: bool, qparams=None) -> str:
        (sa, za), (sb, zb) = self.q(a), self.q(b)
        self.act(out, value, (1, *value.shape[1:]), qparams)
        so, zo = self.q(out)
        mult, shift = quantize_multiplier(sa * sb / so)
        return self.op("batch_matmul_s8", [a, b], out, dict(input1_zp=za, input2_zp=zb, output_zp=zo, mult=mult,
                                                            shift=shift, act_min=-128, act_max=127,
                                                            transpose_b=int(transpose_b)))

    def heads(self, src: str, n_heads: int) -> str:
        x = self.value[src]
        n, t, d = x.shape
        r = self.same_q("reshape", src, f"{src}.split", x.reshape(n, t, n_heads, d // n_heads),
                        (1, t, n_heads, d // n_heads), dict(shape=[1, t, n_heads, d // n_heads]))
        y = self.value[r].transpose(1, 2)
        return self.same_q("transpose_s8", r, f"{src}.heads", y, (1, *y.shape[1:]), dict(perm=(0, 2, 1, 3)))

    def block(self, blk: Block, src: str, name: str, per_head: bool) -> str:
        h = self.layer_norm(blk.norm1, src, f"{name}.ln1")
        att = blk.attn
        if per_head:
            mid = self.add(src, self.attention_per_head(att, h, name), f"{name}.res1")
        else:
            mid = self.add(src, self.linear(att.proj, self.attention_all_heads(att, h, name), f"{name}.proj"),
                           f"{name}.res1")
        hidden = self.linear(blk.mlp[0], self.layer_norm(blk.norm2, mid, f"{name}.ln2"), f"{name}.fc1")
        g = blk.mlp[1](self.value[hidden])
        self.act(f"{name}.gelu", g, (1, *g.shape[1:]))
        table = gelu_table(*self.q(hidden), *self.q(f"{name}.gelu"))
        self.op("gelu_s8", [hidden, self.const(f"{name}.gelu.table", table)], f"{name}.gelu", {})
        return self.add(mid, self.linear(blk.mlp[2], f"{name}.gelu", f"{name}.fc2"), f"{name}.res2")

    def attention_all_heads(self, att: nn.Module, h: str, name: str) -> str:
        """All heads at once: q, k, v split into (1, H, T, dh) by reshape + transpose, merged back after."""
        q, k, v = (self.heads(self.linear(m, h, f"{name}.{p}"), att.heads)
                   for m, p in ((att.q, "q"), (att.k, "k"), (att.v, "v")))
        ctx = self.scaled_attention(q, k, v, name)
        y = self.value[ctx].transpose(1, 2)
        merged = self.same_q("transpose_s8", ctx, f"{name}.merge", y, (1, *y.shape[1:]), dict(perm=(0, 2, 1, 3)))
        n, t, hh, dd = y.shape
        return self.same_q("reshape", merged, f"{name}.tokens", y.reshape(n, t, hh * dd), (1, t, hh * dd),
                           dict(shape=[1, t, hh * dd]))


def quantize_vit(model: nn.Module, calibration: torch.Tensor, per_head: bool = False) -> Graph:
    """The int8 graph (input NHWC (1, H, W, C), output (1, classes)) of a ViT built by tinycore.spec; `per_head`
    schedules attention one head at a time (smaller arena, a few more requantizations).

    A position embedding is an add of a constant int8 tensor; a class token a concatenation with a constant row
    (the token plus its position, in the token map's quantization, which covers both); 'cls' pooling reads token 0
    by a batch_matmul with a constant one-hot row at multiplier 1, which copies it exactly."""
    model.eval()
    stem, blocks, head = list(model.stem), list(model.blocks), list(model.head)
    cls_tok = stem[1] if len(stem) == 2 and isinstance(stem[1], ClassTokenModule) else None
    if len(stem) != 1 + (cls_tok is not None) or not isinstance(stem[0], PatchEmbedding):
        raise UnsupportedError("quantize_vit takes a ViT whose stem is one patch_embed, optionally a class_token")
    if not all(isinstance(b, Block) for b in blocks) or len(head) != 2 or not isinstance(head[0], TokenPooling) \
            or not isinstance(head[1], nn.Linear):
        raise UnsupportedError("quantize_vit takes transformer blocks, then one token_pool and one fc")
    b = _Builder()
    with torch.no_grad():
        x = calibration.float()
        n, c, h, w = x.shape
        b.act("input", x.permute(0, 2, 3, 1), (1, h, w, c))
        pe = stem[0]
        conv = pe.proj
        y = conv(x)
        t, d = y.shape[2] * y.shape[3], y.shape[1]
        seq = y.flatten(2).transpose(1, 2)
        embedded = seq if pe.pos is None else seq + pe.pos
        # with a class token every tensor up to the concatenation shares its range (TFLite's concat rule)
        joint = None if cls_tok is None else activation_qparams(
            min(float(embedded.min()), float(cls_tok(embedded[:1]).min())),
            max(float(embedded.max()), float(cls_tok(embedded[:1]).max())))
        kh, kw = conv.kernel_size
        cur = b.weighted("conv2d_s8", "input", "patch", y.permute(0, 2, 3, 1), (1, *y.shape[2:], y.shape[1]),
                         conv.weight.detach().double().permute(0, 2, 3, 1).numpy(), conv.bias.detach().double().numpy(),
                         dict(stride_h=kh, stride_w=kw, dilation_h=1, dilation_w=1, pad_top=0, pad_bottom=0,
                              pad_left=0, pad_right=0), qparams=joint if pe.pos is None else None)
        cur = b.same_q("reshape", cur, "tokens", seq, (1, t, d), dict(shape=[1, t, d]))
        if pe.pos is not None:
            cur = b.add(cur, b.const_act("pos_embed", pe.pos), "tokens.pos", joint)
        if cls_tok is not None:
            row = cls_tok.token if cls_tok.pos is None else cls_tok.token + cls_tok.pos
            tok = b.const_act("class_token", row, b.q(cur))
            t += 1
            b.act("tokens.cls", torch.cat([row.expand(n, -1, -1), b.value[cur]], dim=1), (1, t, d), b.q(cur))
            cur = b.op("concatenation_s8", [tok, cur], "tokens.cls", dict(axis=1))
        for i, blk in enumerate(blocks):
            cur = b.block(blk, cur, f"blocks.{i}", per_head)
        pool = head[0]
        if pool.mode == "cls":
            cur = b.read_token0(cur, t)
            t = 1
        if isinstance(pool.norm, nn.LayerNorm):
            cur = b.layer_norm(pool.norm, cur, "head.norm")
        cur = b.same_q("reshape", cur, "head.grid", b.value[cur].unsqueeze(2), (1, t, 1, d), dict(shape=[1, t, 1, d]))
        m = b.value[cur].mean(dim=(1, 2))
        if t > 1:
            b.act("head.mean", m, (1, 1, 1, d))
            (si, zi), (so, zo) = b.q(cur), b.q("head.mean")
            mult, shift = quantize_multiplier(si / so)
            cur = b.op("mean_s8", [cur], "head.mean", dict(input_zp=zi, output_zp=zo, mult=mult, shift=shift))
        cur = b.same_q("reshape", cur, "head.flat", m, (1, d), dict(shape=[1, d]))
        fc = head[1]
        logits = fc(m)
        cur = b.weighted("fully_connected_s8", cur, "logits", logits, (1, fc.out_features),
                         fc.weight.detach().double().numpy(), fc.bias.detach().double().numpy(), {})
    graph = Graph(b.tensors, b.ops, ["input"], [cur])
    validate_graph(graph)
    return graph

"""What each op kind takes: its inputs (with dtypes), its attributes, and the shape it produces.

This table is the op registry. Runtime, memory planner and C export each register one implementation per kind,
and a test checks that every kind here has all of them. Each kind's attributes are the fields of its typed record in
`tinycore.ir.attrs`, all required (validation rejects a missing, extra or mistyped key). Attribute conventions
(shared by every backend):

- Padding is explicit: `pad_top, pad_bottom, pad_left, pad_right` (TFLite SAME padding is resolved at import).
- Zero points are given as `input_zp`, `output_zp` (the real value is scale * (q - zp)).
- Fused activations are `act_min, act_max` clamps on the int8 output.
- Per-channel requantization is a pair of int32 constant inputs `mult` (Q31) and `shift` (left shift, may be
  negative), applied by `tinycore.runtime.fixedpoint.requantize`.

Ops (inputs in order):
  conv2d_s8            x(1,H,W,Ci) w(Co,KH,KW,Ci) bias(Co,)i32 mult(Co,) shift(Co,)  attrs: stride_h stride_w
                       dilation_h dilation_w pad_* input_zp output_zp act_min act_max
  depthwise_conv2d_s8  x(1,H,W,Ci) w(1,KH,KW,Ci*M) bias mult shift (per output channel); same attrs + depth_multiplier
  fully_connected_s8   x(1,...,N) w(O,N) bias(O,) mult(O,) shift(O,); attrs input_zp output_zp act_min act_max
                       -> (1, O); or per token: x(1,...,T,N) with more than N values -> (1,...,T,O)
  add_s8               a b (same shape); attrs input1_zp input2_zp output_zp left_shift input1_mult input1_shift
                       input2_mult input2_shift output_mult output_shift act_min act_max  (TFLite ADD)
  avg_pool2d_s8        x; attrs filter_h filter_w stride_h stride_w pad_* act_min act_max (same quantization in/out)
  max_pool2d_s8        x; same attrs as avg_pool2d_s8
  mean_s8              x(1,H,W,C) -> (1,1,1,C); attrs input_zp output_zp mult shift (TFLite MEAN over H, W)
  reshape              x -> y of another shape, same bytes
  pad_s8               x(1,H,W,C); attrs pad_top pad_bottom pad_left pad_right pad_value
  softmax_s8           x(1,...,N), over each row of the last axis; attrs input_mult input_left_shift diff_min
                       (TFLite int8 softmax; out scale 1/256, zp -128)
  quantize_s8          x int8 -> y int8 with other quantization; attrs input_zp output_zp mult shift (TFLite QUANTIZE)
  concatenation_s8     x0 x1 ... (two or more, one quantization shared with the output); attrs axis
  resize_nearest_s8    x(1,H,W,C) -> (1,out_h,out_w,C); attrs out_h out_w align_corners half_pixel_centers
  logistic_s8          x; attrs input_zp input_mult input_left_shift input_range_radius (TFLite LOGISTIC; out
                       scale 1/256, zp -128)
  hard_swish_s8        x; attrs input_zp output_zp output_mult output_exponent reluish_mult reluish_exponent
  mul_s8               a b, same shape or one of them (1,...,1,C) over the other; attrs input1_zp input2_zp
                       output_zp mult shift act_min act_max (TFLite MUL)
  layer_norm_s8        x(1,...,D) gamma(D,)i8 bias(D,)i32; attrs output_zp mult shift (integer LayerNorm, last
                       axis)
  gelu_s8              x table(256,)i8: y = table[x + 128] (GELU of the tensors' quantization, exact for int8)
  batch_matmul_s8      a(1,...,M,K) b(1,...,K,N) or b(1,...,N,K) with transpose_b; attrs input1_zp input2_zp
                       output_zp mult shift act_min act_max transpose_b -> (1,...,M,N)
  transpose_s8         x of rank <= 4; attrs perm -> y.shape[i] = x.shape[perm[i]]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tinycore.errors import GraphValidationError
from tinycore.ir.attrs import ATTR_RECORDS, attr_names


@dataclass(frozen=True)
class OpSchema:
    kind: str
    inputs: tuple[tuple[str, str, bool], ...]  # (role, dtype, must_be_constant)
    attrs: tuple[str, ...]  # the fields of the op's typed record (tinycore.ir.attrs), which validation enforces
    infer: Callable[[list[tuple[int, ...]], dict], tuple[int, ...]]  # input shapes, attrs -> output shape
    summary: str
    variadic: bool = False  # the last input role repeats: two or more inputs (concatenation)

    def roles(self, n: int) -> tuple[tuple[str, str, bool], ...] | None:
        """The input roles of an op with n inputs, or None if the kind cannot take n inputs."""
        if not self.variadic:
            return self.inputs if n == len(self.inputs) else None
        if n < len(self.inputs):
            return None
        return self.inputs + (self.inputs[-1],) * (n - len(self.inputs))


def conv_output_hw(h: int, w: int, kh: int, kw: int, a: dict,
                   dilation: tuple[int, int] | None = None) -> tuple[int, int]:
    """Output height and width of a convolution or pool with explicit padding (floor division, as TFLite).

    A convolution's dilation is read from its attributes; a pool has none and passes dilation=(1, 1)."""
    dh, dw = (a["dilation_h"], a["dilation_w"]) if dilation is None else dilation
    ekh = (kh - 1) * dh + 1
    ekw = (kw - 1) * dw + 1
    oh = (h + a["pad_top"] + a["pad_bottom"] - ekh) // a["stride_h"] + 1
    ow = (w + a["pad_left"] + a["pad_right"] - ekw) // a["stride_w"] + 1
    return oh, ow


def _need_rank(shape: tuple[int, ...], rank: int, what: str) -> None:
    if len(shape) != rank:
        raise GraphValidationError(f"{what} must have rank {rank}, has shape {shape}")


def _infer_conv(shapes, a):
    x, w = shapes[0], shapes[1]
    _need_rank(x, 4, "input"), _need_rank(w, 4, "weights")
    if w[3] != x[3]:
        raise GraphValidationError(f"weights have {w[3]} input channels, input has {x[3]}")
    oh, ow = conv_output_hw(x[1], x[2], w[1], w[2], a)
    return (1, oh, ow, w[0])


def _infer_dw(shapes, a):
    x, w = shapes[0], shapes[1]
    _need_rank(x, 4, "input"), _need_rank(w, 4, "weights")
    if w[3] != x[3] * a["depth_multiplier"]:
        raise GraphValidationError(
            f"depthwise weights have {w[3]} channels, input {x[3]} x depth_multiplier {a['depth_multiplier']}")
    oh, ow = conv_output_hw(x[1], x[2], w[1], w[2], a)
    return (1, oh, ow, w[3])


def _infer_fc(shapes, a):
    x, w = shapes[0], shapes[1]
    if len(x) < 2 or x[0] != 1:
        raise GraphValidationError(f"input {tuple(x)}: a fully connected op takes a batch of one (1, ..., N)")
    n = 1
    for d in x[1:]:
        n *= d
    if w[1] == n:
        return (1, w[0])
    if x[-1] != w[1]:
        raise GraphValidationError(f"weights take {w[1]} inputs; the input {tuple(x)} has {n} values per sample and "
                                   f"{x[-1]} per token (last axis)")
    return (*x[:-1], w[0])


def _infer_same(shapes, a):
    if len(shapes) == 2 and tuple(shapes[0]) != tuple(shapes[1]):
        raise GraphValidationError(f"inputs differ in shape: {shapes[0]} vs {shapes[1]}")
    return tuple(shapes[0])


def _infer_pool(shapes, a):
    x = shapes[0]
    _need_rank(x, 4, "input")
    oh, ow = conv_output_hw(x[1], x[2], a["filter_h"], a["filter_w"], a, dilation=(1, 1))
    return (1, oh, ow, x[3])


def _infer_mean(shapes, a):
    x = shapes[0]
    _need_rank(x, 4, "input")
    return (1, 1, 1, x[3])


def _infer_pad(shapes, a):
    x = shapes[0]
    _need_rank(x, 4, "input")
    return (1, x[1] + a["pad_top"] + a["pad_bottom"], x[2] + a["pad_left"] + a["pad_right"], x[3])


def _infer_reshape(shapes, a):
    return tuple(a["shape"])


_WEIGHTED = (("x", "int8", False), ("weights", "int8", True), ("bias", "int32", True),
             ("mult", "int32", True), ("shift", "int32", True))


def _attrs(kind: str) -> tuple[str, ...]:
    return attr_names(ATTR_RECORDS[kind])


SCHEMAS: dict[str, OpSchema] = {s.kind: s for s in [
    OpSchema("conv2d_s8", _WEIGHTED, _attrs("conv2d_s8"), _infer_conv, "2-D convolution"),
    OpSchema("depthwise_conv2d_s8", _WEIGHTED, _attrs("depthwise_conv2d_s8"), _infer_dw,
             "depthwise convolution"),
    OpSchema("fully_connected_s8", _WEIGHTED, _attrs("fully_connected_s8"), _infer_fc,
             "fully connected"),
    OpSchema("add_s8", (("a", "int8", False), ("b", "int8", False)),
             _attrs("add_s8"), _infer_same, "elementwise add"),
    OpSchema("avg_pool2d_s8", (("x", "int8", False),), _attrs("avg_pool2d_s8"), _infer_pool, "average pool"),
    OpSchema("max_pool2d_s8", (("x", "int8", False),), _attrs("max_pool2d_s8"), _infer_pool, "max pool"),
    OpSchema("mean_s8", (("x", "int8", False),), _attrs("mean_s8"), _infer_mean,
             "mean over height and width"),
    OpSchema("reshape", (("x", "int8", False),), _attrs("reshape"), _infer_reshape, "reshape (no data movement)"),
    OpSchema("pad_s8", (("x", "int8", False),), _attrs("pad_s8"), _infer_pad, "constant padding"),
    OpSchema("softmax_s8", (("x", "int8", False),), _attrs("softmax_s8"), _infer_same,
             "softmax"),
    OpSchema("quantize_s8", (("x", "int8", False),), _attrs("quantize_s8"), _infer_same,
             "requantize int8 to int8"),
]}


# --- detection / MobileNetV3 ops (concatenation, resize, logistic, hard swish, mul) ---


def _infer_concat(shapes, a):
    first, axis = tuple(shapes[0]), a["axis"]
    if axis >= len(first):
        raise GraphValidationError(f"axis {axis} is outside the rank-{len(first)} inputs")
    for s in shapes[1:]:
        if len(s) != len(first) or any(d != e for k, (d, e) in enumerate(zip(s, first)) if k != axis):
            raise GraphValidationError(f"inputs {tuple(s)} and {first} differ outside axis {axis}")
    return tuple(sum(s[k] for s in shapes) if k == axis else d for k, d in enumerate(first))


def _infer_resize(shapes, a):
    x = shapes[0]
    _need_rank(x, 4, "input")
    return (1, a["out_h"], a["out_w"], x[3])


def _infer_mul(shapes, a):
    """Same shape, or one side a (1, ..., 1, C) vector broadcast over the other's last axis."""
    s1, s2 = tuple(shapes[0]), tuple(shapes[1])
    if s1 == s2:
        return s1
    for small, big in ((s1, s2), (s2, s1)):
        if small[-1] == big[-1] and len(small) == len(big) and all(d == 1 for d in small[:-1]):
            return big
    raise GraphValidationError(f"inputs {s1} and {s2}: only the same shape or a (1, ..., 1, C) vector broadcast "
                               f"over the last axis is supported")


_X = (("x", "int8", False),)
SCHEMAS.update({s.kind: s for s in [
    OpSchema("concatenation_s8", (("x0", "int8", False), ("x1", "int8", False)), _attrs("concatenation_s8"),
             _infer_concat, "concatenation along one axis", variadic=True),
    OpSchema("resize_nearest_s8", _X, _attrs("resize_nearest_s8"), _infer_resize, "nearest-neighbour resize"),
    OpSchema("logistic_s8", _X, _attrs("logistic_s8"), _infer_same, "logistic (sigmoid)"),
    OpSchema("hard_swish_s8", _X, _attrs("hard_swish_s8"), _infer_same, "hard swish"),
    OpSchema("mul_s8", (("a", "int8", False), ("b", "int8", False)), _attrs("mul_s8"), _infer_mul,
             "elementwise multiply"),
]})


# ---- transformer ops (MCUFormer, issue #14) ----
def _infer_layer_norm(shapes, a):
    x, g, b = shapes
    if len(x) < 2 or tuple(g) != (x[-1],) or tuple(b) != (x[-1],):
        raise GraphValidationError(f"layer norm over the last axis of {tuple(x)} needs gamma and bias of shape "
                                   f"({x[-1]},); got {tuple(g)} and {tuple(b)}")
    return tuple(x)


def _infer_table(shapes, a):
    if tuple(shapes[1]) != (256,):
        raise GraphValidationError(f"the table must have 256 entries (one per int8 input), has shape {shapes[1]}")
    return tuple(shapes[0])


def _infer_batch_matmul(shapes, a):
    x, y = shapes
    if len(x) < 3 or len(x) != len(y) or tuple(x[:-2]) != tuple(y[:-2]) or x[0] != 1:
        raise GraphValidationError(f"batch matmul needs inputs (1, ..., M, K) and (1, ..., K, N) with equal leading "
                                   f"axes (no broadcasting); got {tuple(x)} and {tuple(y)}")
    k, n = (y[-1], y[-2]) if a["transpose_b"] else (y[-2], y[-1])
    if x[-1] != k:
        raise GraphValidationError(f"batch matmul: a has K = {x[-1]}, b has K = {k} "
                                   f"(transpose_b = {a['transpose_b']}); shapes {tuple(x)} and {tuple(y)}")
    return (*x[:-1], n)


def _infer_transpose(shapes, a):
    x, perm = shapes[0], a["perm"]
    if len(perm) != len(x) or len(x) > 4:
        raise GraphValidationError(f"perm {tuple(perm)} must permute the {len(x)} axes of {tuple(x)} (rank <= 4)")
    return tuple(x[p] for p in perm)


SCHEMAS.update({s.kind: s for s in [
    OpSchema("layer_norm_s8", (("x", "int8", False), ("gamma", "int8", True), ("bias", "int32", True)),
             _attrs("layer_norm_s8"), _infer_layer_norm, "integer layer normalization (last axis)"),
    OpSchema("gelu_s8", (("x", "int8", False), ("table", "int8", True)), _attrs("gelu_s8"), _infer_table,
             "GELU by 256-entry table"),
    OpSchema("batch_matmul_s8", (("a", "int8", False), ("b", "int8", False)), _attrs("batch_matmul_s8"),
             _infer_batch_matmul, "batched matrix product of two activations"),
    OpSchema("transpose_s8", (("x", "int8", False),), _attrs("transpose_s8"), _infer_transpose,
             "axis permutation"),
]})

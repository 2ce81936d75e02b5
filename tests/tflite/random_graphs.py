"""Random integer graphs built directly with numpy, with multipliers derived from scales as TFLite Micro does.

Each builder appends one op; `finish` returns the Graph. Used by the export round-trip tests.
"""
from __future__ import annotations

import numpy as np

from tinycore.ir import Graph, Op, Tensor, conv_output_hw
from tinycore.tflite import params as P


class GraphMaker:
    def __init__(self, seed: int, shape: tuple[int, ...]):
        self.rng = np.random.default_rng(seed)
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.x = self.act(shape)
        self.input = self.x

    def act(self, shape, scale: float | None = None, zp: int | None = None) -> str:
        name = f"t{len(self.tensors)}"
        scale = P.f32(scale if scale is not None else self.rng.uniform(0.01, 0.2))
        zp = int(zp if zp is not None else self.rng.integers(-20, 20))
        self.tensors[name] = Tensor(name, tuple(shape), "int8", (scale,), zp)
        return name

    def const(self, data: np.ndarray, scale=(1.0,)) -> str:
        name = f"c{len(self.tensors)}"
        self.tensors[name] = Tensor(name, tuple(data.shape), str(data.dtype), tuple(scale), 0, data)
        return name

    def t(self, name: str) -> Tensor:
        return self.tensors[name]

    def _emit(self, kind: str, inputs: list[str], out: str, attrs: dict) -> str:
        self.ops.append(Op(kind, f"{kind}_{len(self.ops)}", inputs, [out], attrs))
        self.x = out
        return out

    def _clamp(self, out: str, act: int) -> dict:
        lo, hi = P.activation_range(act, self.t(out).scale[0], self.t(out).zero_point)
        return {"act_min": lo, "act_max": hi}

    def conv(self, cout: int, k: int, stride: int = 1, pads=(0, 0, 0, 0), act: int = 1, depthwise: bool = False,
             dm: int = 1, dilation: int = 1, per_tensor: bool = False) -> str:
        x = self.t(self.x)
        cin = x.shape[3]
        cout = cin * dm if depthwise else cout
        a = {"stride_h": stride, "stride_w": stride, "dilation_h": dilation, "dilation_w": dilation,
             "pad_top": pads[0], "pad_bottom": pads[1], "pad_left": pads[2], "pad_right": pads[3]}
        oh, ow = conv_output_hw(x.shape[1], x.shape[2], k, k, a)
        out = self.act((1, oh, ow, cout))
        wshape = (1, k, k, cout) if depthwise else (cout, k, k, cin)
        w = self.rng.integers(-127, 128, size=wshape, dtype=np.int8)
        ws = (P.f32(self.rng.uniform(0.002, 0.02)),) if per_tensor else tuple(P.f32(self.rng.uniform(0.002, 0.02)) for _ in range(cout))
        bias = self.rng.integers(-3000, 3000, size=cout, dtype=np.int32)
        mult, shift = P.conv_multipliers(x.scale[0], ws, self.t(out).scale[0], cout)
        ins = [self.x, self.const(w, ws), self.const(bias), self.const(np.array(mult, np.int32)),
               self.const(np.array(shift, np.int32))]
        a.update(input_zp=x.zero_point, output_zp=self.t(out).zero_point, **self._clamp(out, act))
        if depthwise:
            a["depth_multiplier"] = dm
        return self._emit("depthwise_conv2d_s8" if depthwise else "conv2d_s8", ins, out, a)

    def fc(self, n_out: int, act: int = 0, per_tensor: bool = True, per_token: bool = False) -> str:
        """per_token: the weights take the last axis, one output row per token (TFLite keep_num_dims)."""
        x = self.t(self.x)
        out = self.act((*x.shape[:-1], n_out) if per_token else (1, n_out))
        w = self.rng.integers(-127, 128, size=(n_out, x.shape[-1] if per_token else x.size), dtype=np.int8)
        ws = ((P.f32(self.rng.uniform(0.002, 0.02)),) if per_tensor
              else tuple(P.f32(self.rng.uniform(0.002, 0.02)) for _ in range(n_out)))
        bias = self.rng.integers(-3000, 3000, size=n_out, dtype=np.int32)
        mult, shift = P.fc_multipliers(x.scale[0], ws, self.t(out).scale[0], n_out)
        ins = [self.x, self.const(w, ws), self.const(bias), self.const(np.array(mult, np.int32)),
               self.const(np.array(shift, np.int32))]
        a = {"input_zp": x.zero_point, "output_zp": self.t(out).zero_point, **self._clamp(out, act)}
        return self._emit("fully_connected_s8", ins, out, a)

    def add(self, other: str, act: int = 1) -> str:
        a1, a2 = self.t(self.x), self.t(other)
        out = self.act(a1.shape)
        attrs = {"input1_zp": a1.zero_point, "input2_zp": a2.zero_point, "output_zp": self.t(out).zero_point,
                 **P.add_params(a1.scale[0], a2.scale[0], self.t(out).scale[0]), **self._clamp(out, act)}
        return self._emit("add_s8", [self.x, other], out, attrs)

    def pool(self, kind: str, f: int, stride: int, pads=(0, 0, 0, 0)) -> str:
        x = self.t(self.x)
        a = {"filter_h": f, "filter_w": f, "stride_h": stride, "stride_w": stride, "pad_top": pads[0],
             "pad_bottom": pads[1], "pad_left": pads[2], "pad_right": pads[3]}
        oh, ow = conv_output_hw(x.shape[1], x.shape[2], f, f, a, dilation=(1, 1))
        out = self.act((1, oh, ow, x.shape[3]), x.scale[0], x.zero_point)
        a.update(self._clamp(out, 0))
        return self._emit(kind, [self.x], out, a)

    def mean(self) -> str:
        x = self.t(self.x)
        out = self.act((1, 1, 1, x.shape[3]))
        m, s = P.requantize_multiplier(x.scale[0], self.t(out).scale[0])
        return self._emit("mean_s8", [self.x], out, {"input_zp": x.zero_point, "output_zp": self.t(out).zero_point,
                                                     "mult": m, "shift": s})

    def quantize(self) -> str:
        x = self.t(self.x)
        out = self.act(x.shape)
        m, s = P.requantize_multiplier(x.scale[0], self.t(out).scale[0])
        return self._emit("quantize_s8", [self.x], out, {"input_zp": x.zero_point,
                                                         "output_zp": self.t(out).zero_point, "mult": m, "shift": s})

    def pad(self, pads, value: int | None = None) -> str:
        x = self.t(self.x)
        out = self.act((1, x.shape[1] + pads[0] + pads[1], x.shape[2] + pads[2] + pads[3], x.shape[3]),
                       x.scale[0], x.zero_point)
        a = {"pad_top": pads[0], "pad_bottom": pads[1], "pad_left": pads[2], "pad_right": pads[3],
             "pad_value": x.zero_point if value is None else value}
        return self._emit("pad_s8", [self.x], out, a)

    def reshape(self, shape) -> str:
        x = self.t(self.x)
        return self._emit("reshape", [self.x], self.act(shape, x.scale[0], x.zero_point), {"shape": list(shape)})

    def softmax(self) -> str:
        x = self.t(self.x)
        out = self.act(x.shape, 1.0 / 256, -128)
        return self._emit("softmax_s8", [self.x], out, P.softmax_params(x.scale[0], 1.0))

    def finish(self) -> Graph:
        return Graph(self.tensors, self.ops, [self.input], [self.x], {"source": "random"})

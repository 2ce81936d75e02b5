"""Turn a TFLite int8 model (read by `reader`) into the integer graph, with TFLite Micro's exact parameters.

Each supported TFLite op becomes one graph op (plus a reshape where TFLite's output shape differs from ours,
as for MEAN without keep_dims). Multipliers, shifts, activation clamps and SAME padding are computed as TFLM's
Prepare functions do (`params`), so `tinycore.runtime.run` gives TFLM's bytes. QUANTIZE float->int8 on the
input and DEQUANTIZE int8->float on the output are dropped; their quantization is kept in `graph.meta`.
"""
from __future__ import annotations

import numpy as np

from tinycore.errors import ModelFileError, UnsupportedError
from tinycore.ir import Graph, Op, Tensor, validate_graph
from tinycore.tflite.import_ops import TRANSLATORS
from tinycore.tflite.reader import TflModel, TflOperator, TflTensor

SUPPORTED_OPS = frozenset(TRANSLATORS) | {"QUANTIZE", "DEQUANTIZE"}


class GraphBuilder:
    """Collects graph tensors and ops while TFLite operators are translated; names the place of every error."""

    def __init__(self, model: TflModel):
        self.model = model
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.names: dict[int, str] = {}  # TFLite tensor index -> graph tensor name
        self.op: TflOperator | None = None

    # -- naming and errors -------------------------------------------------------------------------------
    @property
    def where(self) -> str:
        op = self.op
        return f"{self.model.source}: op {op.index} {op.op}" if op else self.model.source

    def unsupported(self, msg: str) -> UnsupportedError:
        return UnsupportedError(f"{self.where}: {msg}")

    def damaged(self, msg: str) -> ModelFileError:
        return ModelFileError(f"{self.where}: {msg}")

    @property
    def op_name(self) -> str:
        return f"{self.op.op.lower()}_{self.op.index}"

    def _unique(self, name: str) -> str:
        base = name or "tensor"
        name, k = base, 1
        while name in self.tensors:
            name, k = f"{base}#{k}", k + 1
        return name

    # -- tensors -------------------------------------------------------------------------------------------
    def tfl(self, position: int, optional: bool = False) -> TflTensor | None:
        """The op's input tensor at `position` (None for an absent optional input)."""
        ins = self.op.inputs
        if position >= len(ins) or ins[position] < 0:
            if optional:
                return None
            raise self.damaged(f"input {position} is missing (the op has {len(ins)} inputs)")
        return self.model.tensors[ins[position]]

    def out_tfl(self) -> TflTensor:
        if len(self.op.outputs) != 1 or self.op.outputs[0] < 0:
            raise self.unsupported(f"has {len(self.op.outputs)} outputs; only single-output ops are supported")
        return self.model.tensors[self.op.outputs[0]]

    def quant(self, t: TflTensor) -> tuple[float, int]:
        """(scale, zero point) of a per-tensor quantized int8 activation; anything else is refused here."""
        if t.dtype in ("float32", "float16"):
            raise self.unsupported(f"tensor '{t.name}' is {t.dtype}: float models are not supported; convert with "
                                   f"full-integer (int8) quantization")
        if t.dtype != "int8":
            raise self.unsupported(f"tensor '{t.name}' is {t.dtype}; only int8 activations are supported")
        if len(t.scale) != 1 or len(t.zero_point) != 1:
            raise self.damaged(f"activation tensor '{t.name}' needs one scale and zero point, has "
                               f"{len(t.scale)} and {len(t.zero_point)}")
        s, zp = t.scale[0], t.zero_point[0]
        if not (np.isfinite(s) and s > 0) or not -128 <= zp <= 127:
            raise self.damaged(f"tensor '{t.name}': scale {s} / zero point {zp} is not a valid int8 quantization")
        return s, zp

    def activation(self, t: TflTensor, shape: tuple[int, ...] | None = None) -> str:
        """The graph name of an int8 activation tensor, created on first use."""
        if t.index in self.names:
            return self.names[t.index]
        if t.data is not None:
            raise self.unsupported(f"tensor '{t.name}' is a constant where an activation is expected")
        s, zp = self.quant(t)
        name = self._unique(t.name)
        self.tensors[name] = Tensor(name, tuple(shape or t.shape), "int8", (s,), zp)
        self.names[t.index] = name
        return name

    def temp(self, like: TflTensor, shape: tuple[int, ...], suffix: str) -> str:
        """A new int8 activation with `like`'s quantization (for an op split in two)."""
        s, zp = self.quant(like)
        name = self._unique(f"{like.name}/{suffix}")
        self.tensors[name] = Tensor(name, tuple(shape), "int8", (s,), zp)
        return name

    def constant(self, suffix: str, data: np.ndarray, scale: tuple[float, ...] = (1.0,)) -> str:
        name = self._unique(f"{self.op_name}/{suffix}")
        data = np.ascontiguousarray(data)
        self.tensors[name] = Tensor(name, tuple(data.shape), str(data.dtype), scale, 0, data)
        return name

    def weights(self, t: TflTensor, rank: int) -> str:
        if t.data is None or t.dtype != "int8":
            raise self.unsupported(f"weights '{t.name}' must be a constant int8 tensor (is {t.dtype}"
                                   f"{'' if t.data is not None else ', not constant'})")
        if len(t.shape) != rank:
            raise self.damaged(f"weights '{t.name}' have shape {t.shape}, expected rank {rank}")
        if any(z != 0 for z in t.zero_point):
            raise self.unsupported(f"weights '{t.name}' have a non-zero zero point; TFLite Micro int8 needs "
                                   f"symmetric weights")
        if not t.scale or not all(np.isfinite(s) and s > 0 for s in t.scale):
            raise self.damaged(f"weights '{t.name}' have no valid scales: {t.scale[:4]}")
        name = self._unique(t.name)
        self.tensors[name] = Tensor(name, t.shape, "int8", tuple(t.scale), 0, t.data.astype(np.int8))
        return name

    def bias(self, t: TflTensor | None, channels: int, scales: list[float]) -> str:
        if t is None:
            return self.constant("bias", np.zeros(channels, np.int32), tuple(scales))
        if t.data is None or t.dtype != "int32" or t.shape != (channels,):
            raise self.unsupported(f"bias '{t.name}' must be a constant int32 vector of {channels} (is {t.dtype} "
                                   f"{t.shape})")
        name = self._unique(t.name)
        self.tensors[name] = Tensor(name, t.shape, "int32", tuple(scales), 0, t.data.astype(np.int32))
        return name

    def emit(self, kind: str, inputs: list[str], output: str, attrs: dict, suffix: str = "") -> None:
        self.ops.append(Op(kind, self.op_name + suffix, inputs, [output], attrs))


def import_model(model: TflModel) -> Graph:
    """Translate subgraph 0 of an int8 model; UnsupportedError names the first op or tensor we cannot take."""
    b = GraphBuilder(model)
    meta: dict = {"source": model.source, "source_format": "tflite"}
    if not model.inputs or not model.outputs:
        raise UnsupportedError(f"{model.source}: model has {len(model.inputs)} inputs and {len(model.outputs)} "
                               f"outputs; it needs at least one of each")
    graph_inputs = list(model.inputs)
    graph_outputs = list(model.outputs)
    for op in model.operators:
        b.op = op
        if op.op == "QUANTIZE" and b.tfl(0).dtype == "float32":
            _float_input_edge(b, op, graph_inputs, meta)
        elif op.op == "DEQUANTIZE":
            _float_output_edge(b, op, graph_outputs, meta)
        elif op.op in TRANSLATORS:
            TRANSLATORS[op.op](b)
        else:
            raise b.unsupported(f"is not supported (supported: {', '.join(sorted(SUPPORTED_OPS))})")
    b.op = None
    for i in graph_inputs + graph_outputs:
        b.activation(model.tensors[i])
    graph = Graph(b.tensors, b.ops, [b.names[i] for i in graph_inputs], [b.names[i] for i in graph_outputs], meta)
    validate_graph(graph, source=model.source)
    return graph


def _float_input_edge(b: GraphBuilder, op: TflOperator, graph_inputs: list[int], meta: dict) -> None:
    """QUANTIZE float32 -> int8 of the model input: the int8 tensor becomes the graph input."""
    src, dst = op.inputs[0], b.out_tfl()
    if src not in graph_inputs:
        raise b.unsupported("QUANTIZE from float32 is only supported on the model input")
    graph_inputs[graph_inputs.index(src)] = dst.index
    s, zp = b.quant(dst)
    _record_float_edge(meta, "float_input", {"name": b.model.tensors[src].name, "scale": s, "zero_point": zp})


def _float_output_edge(b: GraphBuilder, op: TflOperator, graph_outputs: list[int], meta: dict) -> None:
    """DEQUANTIZE int8 -> float32 of a model output: the int8 tensor becomes the graph output."""
    src, dst = b.tfl(0), b.out_tfl()
    if dst.index not in graph_outputs:
        raise b.unsupported("DEQUANTIZE is only supported on a model output")
    s, zp = b.quant(src)
    graph_outputs[graph_outputs.index(dst.index)] = src.index
    _record_float_edge(meta, "float_output", {"name": dst.name, "scale": s, "zero_point": zp})


def _record_float_edge(meta: dict, key: str, edge: dict) -> None:
    """meta[key] is the first float edge (one-input / one-output models); meta[key + "s"] lists every one, in the
    order the model's operators meet them."""
    meta.setdefault(key, edge)
    meta.setdefault(key + "s", []).append(edge)

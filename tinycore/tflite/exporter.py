"""Write an integer graph as a .tflite flatbuffer (published schema, builders of the PyPI `tflite` package).

TFLite stores scales, not multipliers: TFLite Micro recomputes every multiplier, clamp and padding from the
scales, options and shapes we write. `export_ops` therefore checks, op by op, that TFLM's recomputation gives
exactly the graph's integer parameters and raises UnsupportedError (naming op, channel and values) where it
would not, instead of writing a model that runs differently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

from tinycore.errors import UnsupportedError
from tinycore.ir import Graph, Op, validate_graph

_TYPES = {"int8": TensorType.INT8, "int32": TensorType.INT32, "int16": TensorType.INT16,
          "float32": TensorType.FLOAT32, "int64": TensorType.INT64}


@dataclass
class _TensorRec:
    name: str
    shape: tuple[int, ...]
    dtype: str
    buffer: int = 0
    scale: list[float] = field(default_factory=list)
    zero_point: list[int] = field(default_factory=list)
    quantized_dimension: int = 0


@dataclass
class _OpRec:
    code: str
    inputs: list[int]
    outputs: list[int]
    options: str | None = None  # BuiltinOptions member name, e.g. "Conv2DOptions"
    fields: dict = field(default_factory=dict)


class TfliteWriter:
    """Collects tensors, buffers and operators; `finish` lays them out as a flatbuffer."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.tensors: list[_TensorRec] = []
        self.index: dict[str, int] = {}
        self.buffers: list[bytes] = [b""]  # buffer 0: the empty sentinel every activation points to
        self.ops: list[_OpRec] = []
        self.op: Op | None = None

    def unsupported(self, msg: str) -> UnsupportedError:
        i = self.graph.ops.index(self.op) if self.op in self.graph.ops else -1
        return UnsupportedError(f"export to .tflite: op {i} {self.op.kind} '{self.op.name}': {msg}")

    def activation(self, name: str) -> int:
        if name not in self.index:
            t = self.graph.tensors[name]
            self._add(_TensorRec(name, t.shape, "int8", 0, [float(t.scale[0])], [int(t.zero_point)]))
        return self.index[name]

    def new_activation(self, name: str, shape: tuple[int, ...], scale: float, zero_point: int) -> int:
        while name in self.index:
            name += "_"
        return self._add(_TensorRec(name, tuple(shape), "int8", 0, [float(scale)], [int(zero_point)]))

    def constant(self, name: str, data: np.ndarray, scale: list[float] | None = None, qdim: int = 0,
                 quantized: bool = True) -> int:
        """A constant tensor with its own buffer; int8/int32 constants get zero points of 0 when quantized."""
        while name in self.index:
            name += "_"
        data = np.ascontiguousarray(data)
        self.buffers.append(data.astype(data.dtype.newbyteorder("<")).tobytes())
        rec = _TensorRec(name, tuple(data.shape), str(data.dtype), len(self.buffers) - 1)
        if quantized and scale is not None:
            rec.scale, rec.zero_point, rec.quantized_dimension = list(scale), [0] * len(scale), qdim
        return self._add(rec)

    def _add(self, rec: _TensorRec) -> int:
        self.tensors.append(rec)
        self.index[rec.name] = len(self.tensors) - 1
        return len(self.tensors) - 1

    def add_op(self, code: str, inputs: list[int], outputs: list[int], options: str | None = None,
               **fields) -> None:
        self.ops.append(_OpRec(code, inputs, outputs, options, fields))

    # -- flatbuffer layout ---------------------------------------------------------------------------------
    def finish(self) -> bytes:
        b = flatbuffers.Builder(1024 + sum(len(x) for x in self.buffers))
        codes = list(dict.fromkeys(o.code for o in self.ops))
        buf_offs = [_buffer(b, data) for data in self.buffers]
        tensor_offs = [_tensor(b, t) for t in self.tensors]
        op_offs = [_operator(b, o, codes.index(o.code)) for o in self.ops]
        code_offs = []
        for c in codes:
            value = getattr(BuiltinOperator, c)
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(value, 127))
            tflite.OperatorCodeAddBuiltinCode(b, value)
            tflite.OperatorCodeAddVersion(b, 1)
            code_offs.append(tflite.OperatorCodeEnd(b))
        name = b.CreateString("main")
        tensors_v, ops_v = _offsets(b, tensor_offs), _offsets(b, op_offs)
        ins = _ints(b, [self.index[n] for n in self.graph.inputs])
        outs = _ints(b, [self.index[n] for n in self.graph.outputs])
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensors_v)
        tflite.SubGraphAddInputs(b, ins)
        tflite.SubGraphAddOutputs(b, outs)
        tflite.SubGraphAddOperators(b, ops_v)
        tflite.SubGraphAddName(b, name)
        sub = tflite.SubGraphEnd(b)
        codes_v, subs_v, bufs_v = _offsets(b, code_offs), _offsets(b, [sub]), _offsets(b, buf_offs)
        desc = b.CreateString("tinycore")
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, codes_v)
        tflite.ModelAddSubgraphs(b, subs_v)
        tflite.ModelAddDescription(b, desc)
        tflite.ModelAddBuffers(b, bufs_v)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def _offsets(b, offs: list[int]) -> int:
    b.StartVector(4, len(offs), 4)
    for off in reversed(offs):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _ints(b, values, prepend: str = "PrependInt32", width: int = 4) -> int:
    b.StartVector(width, len(values), width)
    for v in reversed(list(values)):
        getattr(b, prepend)(v)
    return b.EndVector()


def _buffer(b, data: bytes) -> int:
    vec = None
    if data:
        b.StartVector(1, len(data), 16)  # 16-byte aligned, as the TFLite converter writes constant data
        b.head -= len(data)
        b.Bytes[b.head:b.head + len(data)] = data
        vec = b.EndVector()
    tflite.BufferStart(b)
    if vec is not None:
        tflite.BufferAddData(b, vec)
    return tflite.BufferEnd(b)


def _tensor(b, t: _TensorRec) -> int:
    name = b.CreateString(t.name)
    shape = _ints(b, [int(d) for d in t.shape])
    quant = None
    if t.scale:
        scale = _ints(b, [float(np.float32(s)) for s in t.scale], "PrependFloat32")
        zp = _ints(b, t.zero_point, "PrependInt64", 8)
        tflite.QuantizationParametersStart(b)
        tflite.QuantizationParametersAddScale(b, scale)
        tflite.QuantizationParametersAddZeroPoint(b, zp)
        tflite.QuantizationParametersAddQuantizedDimension(b, t.quantized_dimension)
        quant = tflite.QuantizationParametersEnd(b)
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, _TYPES[t.dtype])
    tflite.TensorAddBuffer(b, t.buffer)
    tflite.TensorAddName(b, name)
    if quant is not None:
        tflite.TensorAddQuantization(b, quant)
    return tflite.TensorEnd(b)


def _operator(b, o: _OpRec, code_index: int) -> int:
    opts = None
    if o.options:
        getattr(tflite, f"{o.options}Start")(b)
        for key, value in o.fields.items():
            getattr(tflite, f"{o.options}Add{key}")(b, value)
        opts = getattr(tflite, f"{o.options}End")(b)
    ins, outs = _ints(b, o.inputs), _ints(b, o.outputs)
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, code_index)
    tflite.OperatorAddInputs(b, ins)
    tflite.OperatorAddOutputs(b, outs)
    if opts is not None:
        tflite.OperatorAddBuiltinOptionsType(b, getattr(BuiltinOptions, o.options))
        tflite.OperatorAddBuiltinOptions(b, opts)
    return tflite.OperatorEnd(b)


def export_tflite_bytes(graph: Graph) -> bytes:
    """The graph as .tflite bytes; UnsupportedError names the first op TFLite Micro would compute differently."""
    from tinycore.tflite.export_ops import EXPORTERS

    validate_graph(graph, source="export to .tflite")
    w = TfliteWriter(graph)
    for name in graph.inputs:
        w.activation(name)
    for op in graph.ops:
        w.op = op
        fn: Callable | None = EXPORTERS.get(op.kind)
        if fn is None:
            raise w.unsupported(f"has no TFLite equivalent (exportable: {', '.join(sorted(EXPORTERS))})")
        fn(w, op)
    for name in graph.outputs:
        w.activation(name)
    return w.finish()

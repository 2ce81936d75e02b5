"""Read a .tflite flatbuffer (published schema, PyPI `tflite` package) into plain Python records, defensively.

A damaged file must give a ModelFileError, never another exception, a hang or a crash. The generated accessors
do no bounds checks, so every vector length is checked against the file size before it is iterated, every array
is copied out with its size checked against its shape, and any decoding failure of the accessors (struct,
index, type, unicode errors on garbage offsets) becomes a ModelFileError naming the record being read.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

from tinycore.errors import ModelFileError

TFLITE_IDENTIFIER = b"TFL3"
MAX_TENSOR_BYTES = 1 << 31  # larger than any microcontroller model; a bigger shape is a damaged file
OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
_OPTIONS_NAMES = {v: k for k, v in vars(BuiltinOptions).items() if not k.startswith("_")}
_TYPE_NAMES = {v: k.lower() for k, v in vars(TensorType).items() if not k.startswith("_")}
_NUMPY_TYPES = {"float32": np.float32, "int32": np.int32, "int8": np.int8, "uint8": np.uint8, "int16": np.int16,
                "int64": np.int64, "float16": np.float16, "bool": np.bool_}
_CONV = ("Padding", "StrideH", "StrideW", "DilationHFactor", "DilationWFactor", "FusedActivationFunction")
_POOL = ("Padding", "StrideH", "StrideW", "FilterHeight", "FilterWidth", "FusedActivationFunction")
_OPTION_FIELDS = {"CONV_2D": _CONV, "DEPTHWISE_CONV_2D": _CONV + ("DepthMultiplier",),
                  "FULLY_CONNECTED": ("FusedActivationFunction", "WeightsFormat", "KeepNumDims"),
                  "ADD": ("FusedActivationFunction",), "AVERAGE_POOL_2D": _POOL, "MAX_POOL_2D": _POOL,
                  "SOFTMAX": ("Beta",), "MEAN": ("KeepDims",)}
_OPTION_FIELDS.update({"CONCATENATION": ("Axis", "FusedActivationFunction"), "MUL": ("FusedActivationFunction",),
                       "RESIZE_NEAREST_NEIGHBOR": ("AlignCorners", "HalfPixelCenters")})
_DECODE_ERRORS = (struct.error, IndexError, ValueError, TypeError, OverflowError, UnicodeDecodeError,
                  AttributeError)


@dataclass
class TflTensor:
    index: int
    name: str
    dtype: str  # "int8", "int32", "float32", ... (lower-case TFLite TensorType name)
    shape: tuple[int, ...]
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()
    quantized_dimension: int = 0
    data: np.ndarray | None = None  # constants only


@dataclass
class TflOperator:
    index: int
    op: str  # BuiltinOperator name, e.g. "CONV_2D"; "CUSTOM:<name>" for custom ops
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)  # the fields of _OPTION_FIELDS present in the file


@dataclass
class TflModel:
    source: str
    tensors: list[TflTensor]
    operators: list[TflOperator]
    inputs: list[int]
    outputs: list[int]
    description: str = ""
    meta: dict = field(default_factory=dict)


class _Reader:
    """Bounds-checked walk over one model; `where` names the record being decoded for error messages."""

    def __init__(self, data: bytes, source: str):
        self.data, self.source, self.where = data, source, "model header"

    def fail(self, msg: str) -> ModelFileError:
        return ModelFileError(f"{self.source}: {msg}")

    def count(self, n: int, item_bytes: int, what: str) -> int:
        if n < 0 or n * item_bytes > len(self.data):
            raise self.fail(f"damaged file: {what} claims {n} entries, more than a {len(self.data)}-byte file "
                            f"can hold (while reading {self.where})")
        return n

    def ints(self, length_fn, array_fn, what: str) -> list[int]:
        n = self.count(length_fn(), 4, what)
        return [int(v) for v in array_fn()] if n else []


def read_model(path: str | Path) -> TflModel:
    """Read a .tflite file; ModelFileError for an unreadable, empty, truncated or damaged file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read model file ({e.strerror or e})") from None
    return parse_model(data, str(path))


def parse_model(data: bytes, source: str = "model") -> TflModel:
    if len(data) == 0:
        raise ModelFileError(f"{source}: empty file")
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise ModelFileError(f"{source}: not a TFLite flatbuffer (bytes 4..8 are {data[4:8]!r}, expected "
                             f"{TFLITE_IDENTIFIER!r}); is it truncated or of another format?")
    r = _Reader(data, source)
    try:
        return _parse(r)
    except ModelFileError:
        raise
    except _DECODE_ERRORS as e:
        raise r.fail(f"damaged flatbuffer while reading {r.where}: {type(e).__name__}: {e}") from None
    except MemoryError:
        raise r.fail(f"damaged flatbuffer while reading {r.where}: a size field is absurdly large") from None


def _parse(r: _Reader) -> TflModel:
    m = tflite.Model.GetRootAs(r.data, 0)
    n_sub = r.count(m.SubgraphsLength(), 4, "subgraph list")
    if n_sub == 0:
        raise r.fail("model has no subgraph")
    n_codes = r.count(m.OperatorCodesLength(), 4, "operator code list")
    codes = []
    for i in range(n_codes):
        r.where = f"operator code {i}"
        oc = m.OperatorCodes(i)
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        name = OP_NAMES.get(code, f"BUILTIN_{code}")
        if name == "CUSTOM":
            name = "CUSTOM:" + (oc.CustomCode() or b"?").decode("utf-8", "replace")
        codes.append(name)
    n_buf = r.count(m.BuffersLength(), 4, "buffer list")
    r.where = "subgraph 0"
    sg = m.Subgraphs(0)
    tensors = [_tensor(r, m, sg, i, n_buf) for i in range(r.count(sg.TensorsLength(), 4, "tensor list"))]
    ops = []
    for k in range(r.count(sg.OperatorsLength(), 4, "operator list")):
        r.where = f"operator {k}"
        o = sg.Operators(k)
        idx = int(o.OpcodeIndex())
        if not 0 <= idx < len(codes):
            raise r.fail(f"operator {k}: opcode index {idx} is outside the {len(codes)} operator codes")
        ins = r.ints(o.InputsLength, o.InputsAsNumpy, f"operator {k} inputs")
        outs = r.ints(o.OutputsLength, o.OutputsAsNumpy, f"operator {k} outputs")
        for t in ins + outs:
            if not -1 <= t < len(tensors):
                raise r.fail(f"operator {k} {codes[idx]}: tensor index {t} is outside the {len(tensors)} tensors")
        ops.append(TflOperator(k, codes[idx], ins, outs, _options(o, codes[idx])))
    r.where = "subgraph 0 inputs/outputs"
    inputs = r.ints(sg.InputsLength, sg.InputsAsNumpy, "subgraph inputs")
    outputs = r.ints(sg.OutputsLength, sg.OutputsAsNumpy, "subgraph outputs")
    for t in inputs + outputs:
        if not 0 <= t < len(tensors):
            raise r.fail(f"subgraph input/output tensor index {t} is outside the {len(tensors)} tensors")
    desc = (m.Description() or b"").decode("utf-8", "replace")
    return TflModel(r.source, tensors, ops, inputs, outputs, desc, {"subgraphs": n_sub})


def _options(o, op: str) -> dict[str, Any]:
    """The option fields the importer needs, read now (inside the error guard) from the generated class that
    the operator's union type names; empty when the operator has no options table."""
    fields = _OPTION_FIELDS.get(op)
    table = o.BuiltinOptions()
    cls = getattr(tflite, _OPTIONS_NAMES.get(int(o.BuiltinOptionsType()), ""), None)
    if not fields or table is None or cls is None or not hasattr(cls, "Init"):
        return {}
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    return {f: getattr(obj, f)() for f in fields if hasattr(obj, f)}


def _tensor(r: _Reader, m, sg, i: int, n_buf: int) -> TflTensor:
    r.where = f"tensor {i}"
    t = sg.Tensors(i)
    name = (t.Name() or b"").decode("utf-8", "replace")
    r.where = f"tensor {i} '{name}'"
    dtype = _TYPE_NAMES.get(int(t.Type()), f"type{int(t.Type())}")
    shape = tuple(r.ints(t.ShapeLength, t.ShapeAsNumpy, f"tensor {i} shape"))
    if any(d < 0 for d in shape):
        raise r.fail(f"tensor {i} '{name}': dynamic or negative shape {shape} is not supported")
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    itemsize = np.dtype(_NUMPY_TYPES.get(dtype, np.uint8)).itemsize
    if n * itemsize > MAX_TENSOR_BYTES:
        raise r.fail(f"tensor {i} '{name}': shape {shape} needs {n * itemsize:,} bytes; damaged file?")
    scale, zp, qdim = (), (), 0
    q = t.Quantization()
    if q is not None:
        ns = r.count(q.ScaleLength(), 4, f"tensor {i} scales")
        nz = r.count(q.ZeroPointLength(), 8, f"tensor {i} zero points")
        scale = tuple(float(s) for s in q.ScaleAsNumpy()) if ns else ()
        zp = tuple(int(z) for z in q.ZeroPointAsNumpy()) if nz else ()
        qdim = int(q.QuantizedDimension())
    data = None
    b = int(t.Buffer())
    if not 0 <= b < max(n_buf, 1):
        raise r.fail(f"tensor {i} '{name}': buffer index {b} is outside the {n_buf} buffers")
    if b > 0:
        raw = _buffer_bytes(r, m, b)
        if raw:
            if dtype not in _NUMPY_TYPES:
                raise r.fail(f"tensor {i} '{name}': constant of type {dtype} is not supported")
            if len(raw) != n * itemsize:
                raise r.fail(f"tensor {i} '{name}': buffer {b} holds {len(raw)} bytes, shape {shape} of {dtype} "
                             f"needs {n * itemsize}")
            data = np.frombuffer(raw, dtype=np.dtype(_NUMPY_TYPES[dtype]).newbyteorder("<")).astype(
                _NUMPY_TYPES[dtype]).reshape(shape)
    return TflTensor(i, name, dtype, shape, scale, zp, qdim, data)


def _buffer_bytes(r: _Reader, m, b: int) -> bytes:
    r.where = f"buffer {b}"
    buf = m.Buffers(b)
    off, size = int(buf.Offset()), int(buf.Size())
    if off > 1:  # models over 2 GB keep data after the flatbuffer, addressed from the file start
        if off + size > len(r.data):
            raise r.fail(f"buffer {b}: data at offset {off} + {size} bytes is past the end of the "
                         f"{len(r.data)}-byte file (truncated?)")
        return bytes(r.data[off:off + size])
    n = r.count(buf.DataLength(), 1, f"buffer {b} data")
    return bytes(buf.DataAsNumpy().tobytes()) if n else b""

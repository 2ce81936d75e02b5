"""Damaged, float and unsupported models: only typed errors naming the place; never a hang or a crash."""
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.tflite.random_graphs import GraphMaker
from tests.tflite.tflm import FIXTURES
from tinycore.errors import ModelFileError, TinycoreError, UnsupportedError
from tinycore.ir import Graph
from tinycore.tflite import analyze_ops, export_tflite_bytes, import_tflite, load_model
from tinycore.tflite.exporter import TfliteWriter, _TensorRec
from tinycore.tflite.importer import import_model
from tinycore.tflite.reader import parse_model

KWS = FIXTURES / "kws_ref_model.tflite"


def mutants(data: bytes, n: int, seed: int):
    rng = np.random.default_rng(seed)
    for i in range(n):
        b = bytearray(data)
        kind = ("truncate", "flip", "zero", "flip_header")[i % 4]
        if kind == "truncate":
            b = b[: int(rng.integers(1, len(b) - 1))]
        elif kind == "flip":
            for p in rng.integers(0, len(b), size=8):
                b[p] ^= 0xFF
        elif kind == "zero":
            p = int(rng.integers(0, len(b)))
            b[p:p + 64] = bytes(len(b[p:p + 64]))
        else:  # the root table, vtables and vector lengths of the first kilobyte
            for p in rng.integers(8, 1024, size=4):
                b[p] = int(rng.integers(0, 256))
        yield kind, bytes(b)


def _structure(graph: Graph) -> tuple:
    """What damage must never change unnoticed: op kinds, attributes, tensor shapes and dtypes (not names,
    weights or scales, which a flatbuffer has no way to check)."""
    def t(name: str) -> tuple:
        x = graph.tensors[name]
        return x.shape, x.dtype, x.is_constant
    return ([(op.kind, sorted(op.attrs.items()), [t(n) for n in op.inputs], [t(n) for n in op.outputs])
             for op in graph.ops], [t(n) for n in graph.inputs], [t(n) for n in graph.outputs])


def test_mutants_raise_typed_errors_or_keep_the_structure():
    """A truncated file is always refused; any other mutant is refused with a typed error naming the file, or
    (damage in weights, scales or names) imports to the very structure of the undamaged model. Measured with
    seed 3: truncate 60/60 refused, flip 44/60, flip_header 40/60, zero 13/60."""
    data = KWS.read_bytes()
    want = _structure(import_model(parse_model(data, "m.tflite")))
    errors = {"truncate": 0, "flip": 0, "zero": 0, "flip_header": 0}
    for i, (kind, b) in enumerate(mutants(data, 240, seed=3)):
        start = time.monotonic()
        try:
            graph = import_model(parse_model(b, "m.tflite"))
        except TinycoreError as e:
            assert str(e).startswith("m.tflite"), str(e)
            errors[kind] += 1
        else:
            assert kind != "truncate", f"mutant {i}: a truncated file ({len(b)} of {len(data)} B) was accepted"
            assert _structure(graph) == want, f"mutant {i} ({kind}): accepted with another structure"
        assert time.monotonic() - start < 5, f"{kind}: took {time.monotonic() - start:.1f} s"
    assert errors["truncate"] == 60 and errors["flip"] >= 35 and errors["flip_header"] >= 30


def test_empty_wrong_magic_and_truncated(tmp_path):
    data = KWS.read_bytes()
    cases = {"empty": (b"", "empty file"), "magic": (b"\x00garbage" + data[8:], "not a TFLite flatbuffer"),
             "trunc": (data[:5000], "damaged"), "trunc8": (data[:8], "damaged")}
    for name, (b, msg) in cases.items():
        p = tmp_path / f"{name}.tflite"
        p.write_bytes(b)
        with pytest.raises(ModelFileError, match=msg) as e:
            import_tflite(p)
        assert str(p) in str(e.value)


def test_truncated_buffer_names_tensor_and_sizes():
    data = bytearray(export_tflite_bytes(_tiny_graph()))
    model = parse_model(bytes(data))
    assert model.tensors[1].data is not None
    with pytest.raises(ModelFileError, match=r"tensor|buffer|offset"):
        parse_model(bytes(data[: len(data) // 2]), "half.tflite")


def _tiny_graph():
    g = GraphMaker(0, (1, 4, 4, 2))
    g.conv(3, 1, act=0)
    return g.finish()


def _handmade(tmp_path, op: str, dtype: str) -> str:
    """A two-tensor model with one `op` (no options) on `dtype` tensors, written with our writer."""
    graph = Graph({}, [], ["x"], ["y"])
    w = TfliteWriter(graph)
    q = ([0.1], [0]) if dtype == "int8" else ([], [])
    w._add(_TensorRec("x", (1, 8), dtype, 0, *q))
    w._add(_TensorRec("y", (1, 8), dtype, 0, *q))
    w.add_op(op, [0], [1])
    path = tmp_path / f"{op.lower()}_{dtype}.tflite"
    path.write_bytes(w.finish())
    return path


def test_float_model_is_refused_naming_the_tensor(tmp_path):
    path = _handmade(tmp_path, "SOFTMAX", "float32")
    with pytest.raises(UnsupportedError, match=r"op 0 SOFTMAX: tensor 'x' is float32: float models"):
        import_tflite(path)


def test_unsupported_op_is_named_and_listed_by_analyze(tmp_path):
    path = _handmade(tmp_path, "TANH", "int8")
    assert analyze_ops(path) == [("TANH", 1, False)]
    with pytest.raises(UnsupportedError, match=r"op 0 TANH: is not supported"):
        import_tflite(path)


def test_load_model_dispatches_on_magic(tmp_path):
    graph = _tiny_graph()
    graph.save(tmp_path / "m.bin")
    (tmp_path / "m.weird").write_bytes(export_tflite_bytes(graph))
    assert [op.kind for op in load_model(tmp_path / "m.bin").ops] == ["conv2d_s8"]
    assert [op.kind for op in load_model(tmp_path / "m.weird").ops] == ["conv2d_s8"]
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "missing.tflite")


@pytest.mark.parametrize("kind", ["truncate", "flip_header"])
def test_cli_convert_of_a_damaged_file_prints_one_line(tmp_path, kind):
    b = next(m for k, m in mutants(KWS.read_bytes(), 8, seed=11) if k == kind)
    src = tmp_path / "bad.tflite"
    src.write_bytes(b)
    p = subprocess.run([sys.executable, "-m", "tinycore", "convert", str(src), str(tmp_path / "out.graph")],
                       capture_output=True, text=True, timeout=60)
    msg = (p.stdout + p.stderr).strip()
    if p.returncode == 0:  # a mutation may leave a valid model
        return
    assert p.returncode == 2 and "Traceback" not in msg and len(msg.splitlines()) == 1, msg
    assert not (tmp_path / "out.graph").exists()


def test_float_edges_are_dropped_and_recorded(tmp_path):
    """QUANTIZE float->int8 on the input and DEQUANTIZE on the output become the graph's int8 I/O."""
    graph = Graph({}, [], ["xf"], ["yf"])
    w = TfliteWriter(graph)
    w._add(_TensorRec("xf", (1, 8), "float32"))
    w._add(_TensorRec("x", (1, 8), "int8", 0, [0.1], [3]))
    w._add(_TensorRec("y", (1, 8), "int8", 0, [1 / 256], [-128]))
    w._add(_TensorRec("yf", (1, 8), "float32"))
    w.add_op("QUANTIZE", [0], [1])
    w.add_op("SOFTMAX", [1], [2], "SoftmaxOptions", Beta=1.0)
    w.add_op("DEQUANTIZE", [2], [3])
    path = tmp_path / "edges.tflite"
    path.write_bytes(w.finish())
    g = import_tflite(path)
    assert [op.kind for op in g.ops] == ["softmax_s8"]
    assert (g.inputs, g.outputs) == (["x"], ["y"])
    assert g.meta["float_input"] == {"name": "xf", "scale": pytest.approx(0.1), "zero_point": 3}
    assert g.meta["float_output"]["zero_point"] == -128

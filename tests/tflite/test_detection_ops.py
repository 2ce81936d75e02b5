"""concatenation, resize nearest, logistic, hard swish, mul: our runtime == TFLite Micro byte for byte, and the
.tflite import gives back the same graph.

Logistic and hard swish are checked on all 256 int8 inputs for each quantization case, because the C export
tabulates them from the runtime (tinycore.runtime.ops.activations).
"""
import numpy as np
import pytest

from tests.cases import CASE_TABLES
from tests.cases.build import act
from tests.export.conftest import case_inputs
from tests.tflite.random_graphs import GraphMaker
from tests.tflite.tflm import random_inputs, tflm_outputs
from tinycore.errors import UnsupportedError
from tinycore.ir import Graph
from tinycore.runtime import run
from tinycore.tflite import export_tflite, export_tflite_bytes, import_tflite
from tinycore.tflite import params as P
from tinycore.tflite.reader import parse_model

KINDS = ("concatenation_s8", "resize_nearest_s8", "logistic_s8", "hard_swish_s8", "mul_s8")


def _exportable_cases():
    """Every case of the five tables except those whose helper convolution has test multipliers, not TFLite's."""
    out = []
    for kind in KINDS:
        for case in CASE_TABLES[kind]:
            g = case.make(seed=0)
            if not any(op.kind == "conv2d_s8" for op in g.ops):
                out.append((f"{kind}-{case.name}", g))
    return out


CASES = _exportable_cases()


def test_most_cases_reach_tflm():
    kinds = [cid.split("-")[0] for cid, _ in CASES]
    assert all(kinds.count(k) >= 3 for k in KINDS), kinds


@pytest.mark.oracle
@pytest.mark.parametrize("cid,graph", CASES, ids=[c for c, _ in CASES])
def test_case_equals_tflm(cid, graph):
    xs = case_inputs(graph, seed=3, n_random=6)
    refs = tflm_outputs(export_tflite_bytes(graph), xs)
    for i, (x, ref) in enumerate(zip(xs, refs)):
        np.testing.assert_array_equal(run(graph, x).reshape(-1), ref.reshape(-1), err_msg=f"input {i}")


@pytest.mark.oracle
@pytest.mark.parametrize("kind", ["logistic_s8", "hard_swish_s8"])
def test_every_int8_input_equals_tflm(kind):
    """The whole 256-entry table the C kernel uses, for every quantization case of the table."""
    all_values = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    for case in CASE_TABLES[kind]:
        g = case.make(seed=0)
        x, y = g.tensors["x"], g.tensors["y"]
        wide = Graph({"x": act("x", (1, 256), x.zero_point, x.scale[0]),
                      "y": act("y", (1, 256), y.zero_point, y.scale[0])}, [g.ops[0]], ["x"], ["y"])
        got = run(wide, all_values).reshape(-1)
        ref = tflm_outputs(export_tflite_bytes(wide), [all_values])[0].reshape(-1)
        assert len(set(got.tolist())) > 4, case.name  # not a constant: the comparison means something
        np.testing.assert_array_equal(got, ref, err_msg=case.name)


class NeckMaker(GraphMaker):
    """GraphMaker plus the five ops, with parameters derived from scales as TFLite Micro does."""

    def hard_swish(self) -> str:
        x = self.t(self.x)
        out = self.act(x.shape, x.scale[0] * 0.6)
        return self._emit("hard_swish_s8", [self.x], out, P.hard_swish_params(
            x.scale[0], x.zero_point, self.t(out).scale[0], self.t(out).zero_point))

    def logistic(self) -> str:
        x = self.t(self.x)
        out = self.act(x.shape, 1.0 / 256, -128)
        return self._emit("logistic_s8", [self.x], out, P.logistic_params(x.scale[0], x.zero_point))

    def mul(self, other: str, act: int = 0) -> str:
        a1, a2 = self.t(self.x), self.t(other)
        out = self.act(a1.shape if a1.size >= a2.size else a2.shape)
        attrs = {"input1_zp": a1.zero_point, "input2_zp": a2.zero_point, "output_zp": self.t(out).zero_point,
                 **P.mul_params(a1.scale[0], a2.scale[0], self.t(out).scale[0]), **self._clamp(out, act)}
        return self._emit("mul_s8", [self.x, other], out, attrs)

    def resize(self, h: int, w: int, align: int = 0, half: int = 0) -> str:
        x = self.t(self.x)
        out = self.act((1, h, w, x.shape[3]), x.scale[0], x.zero_point)
        return self._emit("resize_nearest_s8", [self.x], out, {"out_h": h, "out_w": w, "align_corners": align,
                                                                "half_pixel_centers": half})

    def concat(self, others: list[str], axis: int = 3) -> str:
        names = [self.x, *others]
        x = self.t(self.x)
        shape = list(x.shape)
        shape[axis] = sum(self.t(n).shape[axis] for n in names)
        return self._emit("concatenation_s8", names, self.act(shape, x.scale[0], x.zero_point), {"axis": axis})


def se_and_neck(seed: int) -> Graph:
    """MobileNetV3 block (hard swish, squeeze-and-excitation with logistic and a broadcast mul) and an FPN-like
    neck (nearest up-sampling of a strided branch, concatenated with the full-resolution one on channels)."""
    g = NeckMaker(seed, (1, 8, 6, 3))
    g.conv(8, 3, pads=(1, 1, 1, 1), act=0)
    g.hard_swish()
    trunk = g.x
    g.mean()
    g.conv(4, 1, act=1)
    g.conv(8, 1, act=0)
    g.logistic()
    gate = g.x
    g.x = trunk
    g.mul(gate)
    full = g.x
    g.conv(5, 3, stride=2, pads=(0, 1, 0, 1), act=1)
    g.resize(8, 6)
    # the concatenated operand must share the up-sampled tensor's quantization: requantize the full branch
    up = g.t(g.x)
    g.x = full
    full_q = g.act(g.t(full).shape, up.scale[0], up.zero_point)
    m, s = P.requantize_multiplier(g.t(full).scale[0], up.scale[0])
    g._emit("quantize_s8", [full], full_q, {"input_zp": g.t(full).zero_point, "output_zp": up.zero_point,
                                            "mult": m, "shift": s})
    g.x = [n for n in g.tensors if g.tensors[n] is up][0]
    g.concat([full_q])
    return g.finish()


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_se_block_and_neck_equal_tflm(seed):
    graph = se_and_neck(seed)
    xs = random_inputs(graph.input_tensor().shape, 10, seed)
    outs = [run(graph, x) for x in xs]
    assert len({o.tobytes() for o in outs}) > 5
    for i, (x, ref) in enumerate(zip(xs, tflm_outputs(export_tflite_bytes(graph), xs))):
        np.testing.assert_array_equal(outs[i].reshape(-1), ref.reshape(-1), err_msg=f"input {i}")


def test_import_of_export_gives_the_same_graph(tmp_path):
    graph = se_and_neck(4)
    back = import_tflite(export_tflite(graph, tmp_path / "m.tflite"))
    assert [op.kind for op in back.ops] == [op.kind for op in graph.ops]
    for ours, theirs in zip(graph.ops, back.ops):
        if ours.kind in KINDS:
            assert dict(theirs.attrs) == dict(ours.attrs), ours.kind
    for x in random_inputs(graph.input_tensor().shape, 5, 4):
        np.testing.assert_array_equal(run(back, x), run(graph, x))


@pytest.mark.oracle
def test_concatenation_of_other_scales_is_requantized_on_import(tmp_path, monkeypatch):
    """TFLite Micro refuses a CONCATENATION whose inputs are quantized unlike its output; the importer accepts it
    by requantizing those inputs first (quantize_s8), and the graph it makes runs in TFLM as QUANTIZE + CONCAT."""
    import tinycore.tflite.export_ops as export_ops

    g = NeckMaker(0, (1, 4, 3, 5))
    x = g.x
    other = g.quantize()
    g.x = x
    g.concat([other])
    graph = g.finish()
    monkeypatch.setattr(export_ops, "_same_quant", lambda *a: None)  # write the file TFLM would refuse
    path = export_tflite(graph, tmp_path / "mixed.tflite")
    monkeypatch.undo()
    back = import_tflite(path)
    assert [op.kind for op in back.ops] == ["quantize_s8", "quantize_s8", "concatenation_s8"]
    xs = random_inputs((1, 4, 3, 5), 5, 0)
    for x_in, ref in zip(xs, tflm_outputs(export_tflite_bytes(back), xs)):
        np.testing.assert_array_equal(run(back, x_in).reshape(-1), ref.reshape(-1))


def test_export_refuses_what_tflm_would_compute_otherwise():
    graph = se_and_neck(0)
    logistic = next(op for op in graph.ops if op.kind == "logistic_s8")
    logistic.attrs["input_mult"] += 1
    with pytest.raises(UnsupportedError, match=r"logistic_s8 .*logistic parameters"):
        export_tflite_bytes(graph)
    graph = se_and_neck(0)
    concat = next(op for op in graph.ops if op.kind == "concatenation_s8")
    graph.tensors[concat.outputs[0]].zero_point += 1
    with pytest.raises(UnsupportedError, match=r"concatenation_s8 .*needs one quantization"):
        export_tflite_bytes(graph)


def test_written_options_are_read_back():
    ops = parse_model(export_tflite_bytes(se_and_neck(0))).operators
    by_op = {o.op: o for o in ops}
    assert by_op["CONCATENATION"].options["Axis"] == 3
    assert by_op["RESIZE_NEAREST_NEIGHBOR"].options == {"AlignCorners": False, "HalfPixelCenters": False}
    assert {"HARD_SWISH", "LOGISTIC", "MUL"} <= set(by_op)

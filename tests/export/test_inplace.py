"""In-place kernels and reshape copies, forced with hand-made arena plans (scratch last, ASan-checked)."""
import numpy as np
import pytest

from tests.cases.add import ADD_CASES
from tests.cases.build import act, const, requant, single_op, weights
from tests.cases.conv2d import CONV2D_CASES, Conv2dCase
from tests.cases.depthwise_conv2d import DEPTHWISE_CASES
from tests.cases.quantize import QUANTIZE_CASES
from tests.cases.random_graphs import random_graph
from tests.cases.reshape import RESHAPE_CASES
from tests.export.conftest import case_inputs
from tests.export.plans import hand_plan
from tinycore.errors import UnsupportedError
from tinycore.export import generate_c
from tinycore.export.batch import run_models_on_host
from tinycore.memory.rules import scratch_bytes
from tinycore.runtime import run

DW_INPLACE = [c for c in DEPTHWISE_CASES if c.depth_multiplier == 1]
PW_INPLACE = [c for c in CONV2D_CASES if c.name in ("pointwise_shrink", "pointwise_odd")] + [
    Conv2dCase("pointwise_equal", hw=(3, 7), cin=6, cout=6, kernel=1, pad="valid")]


def _inplace_models():
    """(label, graph, inputs, plan) with exactly one op in place per graph."""
    out = []
    for c in DW_INPLACE:
        g = c.make(0)
        op, y = g.ops[0], g.tensors["y"]
        assert y.shape[1] * y.shape[2] == scratch_bytes(op, g, True)
        out.append((f"dw-{c.name}", g, hand_plan(g, {op.name: 0})))
    for c in PW_INPLACE:
        g = c.make(0)
        op = g.ops[0]
        out.append((f"pw-{c.name}", g, hand_plan(g, {op.name: 0})))  # Cout bytes (rounded to 4) + DSP column
    for c in ADD_CASES:
        for which in (0, 1):
            g = c.make(0)
            out.append((f"add{which}-{c.name}", g, hand_plan(g, {"add_s8": which})))
    for c in QUANTIZE_CASES:
        g = c.make(0)
        out.append((f"quantize-{c.name}", g, hand_plan(g, {g.ops[0].name: 0})))
    for c in RESHAPE_CASES:  # reshape output in its own region: the tc_reshape copy runs
        g = c.make(0)
        out.append((f"reshape_copy-{c.name}", g, hand_plan(g, alias_reshape=False)))
    g = random_graph(3)
    out.append(("random3-no-alias", g, hand_plan(g, alias_reshape=False)))
    return out


INPLACE = _inplace_models()


@pytest.fixture(scope="module")
def inplace_results(tmp_path_factory):
    models = [(g, case_inputs(g, seed=5)) for _, g, _ in INPLACE]
    outs = run_models_on_host(models, tmp_path_factory.mktemp("inplace"), plans=[p for _, _, p in INPLACE],
                              sanitize=True)
    return {label: (g, xs, o) for (label, _, _), (g, xs), o in zip(INPLACE, models, outs)}


@pytest.mark.parametrize("label", [m[0] for m in INPLACE])
def test_inplace_and_copy_paths_equal_runtime(label, inplace_results):
    g, xs, outs = inplace_results[label]
    for x, got in zip(xs, outs):
        np.testing.assert_array_equal(got, run(g, x).reshape(-1))


def test_plans_really_are_in_place():
    for label, g, plan in INPLACE:
        op = g.ops[-1]
        if label.startswith(("dw", "pw", "quantize")):
            assert plan.offsets[op.inputs[0]] == plan.offsets[op.outputs[0]], label
        if label.startswith("reshape_copy"):
            assert plan.offsets[op.inputs[0]] != plan.offsets[op.outputs[0]], label


def test_generated_call_passes_scratch_and_same_buffer(tmp_path):
    g = DW_INPLACE[0].make(0)
    plan = hand_plan(g, {g.ops[0].name: 0})
    generate_c(g, tmp_path / "m", plan=plan)
    src = (tmp_path / "m" / "model.c").read_text()
    off, (s_off, _) = plan.offsets["x"], plan.scratch[g.ops[0].name]
    assert f"(tc_arena + {off}), &tc_op0_f" in src and f"&tc_op0_out, (tc_arena + {off}), (tc_arena + {s_off}));" in src


def _conv3x3():
    rng = np.random.default_rng(0)
    m, s = requant(rng, 4, 3000.0)
    consts = [const("w", weights(rng, (4, 3, 3, 4))), const("bias", np.zeros(4, np.int32)), const("mult", m),
              const("shift", s)]
    attrs = dict(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, pad_top=1, pad_bottom=1, pad_left=1,
                 pad_right=1, input_zp=0, output_zp=0, act_min=-128, act_max=127)
    return single_op("conv2d_s8", act("x", (1, 5, 5, 4)), consts, attrs)


def test_inplace_plan_for_a_3x3_conv_is_refused(tmp_path):
    g = _conv3x3()
    with pytest.raises(UnsupportedError, match="cannot do"):
        generate_c(g, tmp_path / "m", plan=hand_plan(g, {"conv2d_s8": 0}, {"conv2d_s8": 4}))
    assert not (tmp_path / "m").exists()


def test_inplace_without_enough_scratch_is_refused(tmp_path):
    g = DW_INPLACE[0].make(0)
    name = g.ops[0].name
    with pytest.raises(UnsupportedError, match="no scratch"):
        generate_c(g, tmp_path / "a", plan=hand_plan(g, {name: 0}, {name: 0}))
    with pytest.raises(UnsupportedError, match="35 B of scratch, its kernel needs 36 B"):
        generate_c(g, tmp_path / "b", plan=hand_plan(g, {name: 0}, {name: 35}))

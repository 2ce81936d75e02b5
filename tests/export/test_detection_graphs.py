"""Whole SE-block + neck graphs (hard swish, logistic, broadcast mul, resize, concatenation) in host C: byte for
byte the runtime, with the planner's in-place choices for the new elementwise ops."""
import numpy as np

from tests.export.conftest import case_inputs
from tests.tflite.test_detection_ops import se_and_neck
from tinycore.export.batch import run_models_on_host
from tests.export.plans import hand_plan
from tinycore.runtime import run

SEEDS = (0, 1, 2, 3)


def test_se_and_neck_graphs_host_c_equals_runtime(tmp_path):
    models = [(g, case_inputs(g, seed=10 + s, n_random=3)) for s in SEEDS for g in [se_and_neck(s)]]
    outs = run_models_on_host(models, tmp_path)
    for (g, xs), got in zip(models, outs):
        for k, (x, o) in enumerate(zip(xs, got)):
            np.testing.assert_array_equal(o, run(g, x).reshape(-1), err_msg=f"input {k}")


def test_new_elementwise_ops_in_place_with_forced_plans(tmp_path):
    """Each lookup op and each mul over its full-size input, forced in place (hand plan, AddressSanitizer)."""
    from tests.cases import CASE_TABLES

    models, plans = [], []
    for kind in ("logistic_s8", "hard_swish_s8", "mul_s8"):
        for case in CASE_TABLES[kind]:
            g = case.make(seed=0)
            op = g.ops[-1]
            full = [k for k, n in enumerate(op.inputs) if g.tensors[n].shape == g.tensors[op.outputs[0]].shape]
            models.append((g, case_inputs(g, seed=7)))
            plans.append(hand_plan(g, {op.name: full[-1]}))
    assert len(models) >= 15
    outs = run_models_on_host(models, tmp_path, plans=plans, sanitize=True)
    for (g, xs), got in zip(models, outs):
        for k, (x, o) in enumerate(zip(xs, got)):
            np.testing.assert_array_equal(o, run(g, x).reshape(-1), err_msg=f"{g.ops[-1].kind} input {k}")


def test_mul_never_writes_over_its_broadcast_vector():
    from tests.cases import CASE_TABLES
    from tinycore.memory.rules import inplace_candidates

    for case in CASE_TABLES["mul_s8"]:
        g = case.make(seed=0)
        op = g.ops[-1]
        assert all(g.tensors[n].shape == g.tensors[op.outputs[0]].shape for n in inplace_candidates(op, g))

"""Every op case table and ~20 random graphs: numpy runtime == host C, byte for byte, over several inputs.

All models are compiled into ONE program per fixture (tinycore.export.batch) to keep the suite fast.
"""
import numpy as np
import pytest

from tests.cases import ALL_CASES
from tests.cases.random_graphs import RANDOM_GRAPH_SEEDS, random_graph
from tests.export.conftest import case_inputs
from tinycore.export.batch import run_models_on_host
from tinycore.memory import plan_graph
from tinycore.runtime import run

CASE_IDS = [f"{kind}-{case.name}" for kind, case in ALL_CASES]


def _models():
    models = {}
    for (kind, case), cid in zip(ALL_CASES, CASE_IDS):
        g = case.make(seed=0)
        models[cid] = (g, case_inputs(g, seed=1))
    for seed in RANDOM_GRAPH_SEEDS:
        g = random_graph(seed)
        models[f"random{seed}"] = (g, case_inputs(g, seed=100 + seed, n_random=2))
    return models


@pytest.fixture(scope="module")
def host_results(tmp_path_factory):
    models = _models()
    outs = run_models_on_host(list(models.values()), tmp_path_factory.mktemp("host_cases"))
    return {k: (g, xs, o) for (k, (g, xs)), o in zip(models.items(), outs)}


def _check(graph, inputs, outputs):
    assert len(outputs) == len(inputs)
    for k, (x, got) in enumerate(zip(inputs, outputs)):
        want = run(graph, x).reshape(-1)
        np.testing.assert_array_equal(got, want, err_msg=f"input {k}")


@pytest.mark.parametrize("cid", CASE_IDS)
def test_case_host_c_equals_runtime(cid, host_results):
    _check(*host_results[cid])


@pytest.mark.parametrize("seed", RANDOM_GRAPH_SEEDS)
def test_random_graph_host_c_equals_runtime(seed, host_results):
    _check(*host_results[f"random{seed}"])


def test_random_graphs_cover_inplace_and_aliases():
    """The random graphs must reach the planner's in-place paths and reshape aliases, or the test above is weak."""
    kinds_inplace, aliased = set(), 0
    for seed in RANDOM_GRAPH_SEEDS:
        g = random_graph(seed)
        plan = plan_graph(g)
        kinds_inplace |= {op.kind for op in g.ops if plan.inplace[op.name]}
        aliased += sum(op.kind == "reshape" and plan.offsets[op.inputs[0]] == plan.offsets[op.outputs[0]]
                       for op in g.ops)
    assert {"conv2d_s8", "add_s8"} <= kinds_inplace
    assert aliased >= 20


def test_sanitized_build_of_all_cases_and_random_graphs(tmp_path):
    """AddressSanitizer + UBSan: no access outside tc_arena/constants, no signed overflow, no bad shift."""
    models = _models()
    picked = list(models.values())
    outs = run_models_on_host(picked, tmp_path, sanitize=True)
    for (g, xs), o in zip(picked, outs):
        _check(g, xs, o)

"""A hand-built int8 transformer (tests/cases/transformer_graphs.py): runtime == host C == firmware in QEMU."""
import numpy as np
import pytest

from tests.cases.transformer_graphs import transformer_graph
from tests.export.conftest import case_inputs
from tinycore.export.batch import run_models_on_host
from tinycore.export.firmware import validate_on_board
from tinycore.ir import validate_graph
from tinycore.memory import plan_graph
from tinycore.runtime import run

SEEDS = [0, 1, 2]


def MLP_HEAVY():
    """Few tokens, wide MLP: the MLP's expansion is the peak, where token overwriting pays."""
    return transformer_graph(4, tokens=4, dim=8, depth=1, mlp_ratio=8)


def test_transformer_host_c_equals_runtime(tmp_path):
    graphs = [transformer_graph(s) for s in SEEDS] + [transformer_graph(9, tokens=5, dim=12, n_heads=3, depth=1),
                                                      MLP_HEAVY()]
    models = [(g, case_inputs(g, seed=7)) for g in graphs]
    outs = run_models_on_host(models, tmp_path, sanitize=True)
    for (g, xs), got in zip(models, outs):
        validate_graph(g)
        for x, o in zip(xs, got):
            want = run(g, x).reshape(-1)
            np.testing.assert_array_equal(o, want)
    assert len({run(graphs[0], x).tobytes() for x in models[0][1]}) > 1  # outputs depend on the input


def test_transformer_plan_overwrites_tokens():
    g = MLP_HEAVY()
    plan = plan_graph(g)
    kinds = {op.kind for op in g.ops if plan.inplace[op.name]}
    assert "fully_connected_s8" in kinds and plan.arena_bytes < plan_graph(g, allow_inplace=False).arena_bytes


@pytest.mark.firmware
@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an500"])
def test_transformer_firmware_equals_runtime(board):
    g = MLP_HEAVY() if board == "mps2-an500" else transformer_graph(1)
    r = validate_on_board(g, board, n=3, seed=2)
    assert r["outputs_match"] is True and r["n_checked"] == 3 and r["max_abs_diff"] == 0
    assert r["arena_bytes"] == plan_graph(g).arena_bytes == r["arena_symbol_bytes"]

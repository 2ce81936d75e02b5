"""The numpy patch executor equals the whole-frame runtime byte for byte, for every grid and split."""
import numpy as np
import pytest

from tests.patch.graphs import patch_net
from tinycore.errors import UnsupportedError
from tinycore.patch import PatchPlan, build_program, parse_patch, run_patched, run_program
from tinycore.patch.receptive import RFNode, Window, grid_cuts, walk_axis
from tinycore.runtime import run

GRIDS = [(1, 1), (2, 2), (3, 3), (4, 4), (3, 2), (2, 4)]
SPLITS = ["stem", "res3", "dw5", "res7", "pool"]


@pytest.fixture(scope="module")
def net():
    return patch_net(0)


def _inputs(graph, n=3, seed=0):
    rng = np.random.default_rng(seed)
    shape = graph.input_tensor().shape
    return [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(n)] + [np.full(shape, 127, np.int8)]


@pytest.mark.parametrize("grid", GRIDS, ids=lambda g: f"{g[0]}x{g[1]}")
@pytest.mark.parametrize("split", SPLITS)
def test_int8_patches_equal_whole_frame(net, grid, split):
    graph, marks = net
    program = build_program(graph, PatchPlan(marks[split], *grid))
    for x in _inputs(graph):
        np.testing.assert_array_equal(run_program(program, x), run(graph, x))


@pytest.mark.parametrize("hw", [(17, 17), (9, 31), (30, 15)])
@pytest.mark.parametrize("grid", [(3, 2), (2, 4)], ids=lambda g: f"{g[0]}x{g[1]}")
def test_odd_and_non_square_inputs(hw, grid):
    graph, marks = patch_net(1, hw=hw, cin=2)
    plan = PatchPlan((marks["res3"], marks["pool"]), *grid)
    for x in _inputs(graph, 2, seed=3):
        np.testing.assert_array_equal(run_patched(graph, plan, x), run(graph, x))


def test_chained_stages_equal_whole_frame(net):
    graph, marks = net
    for splits in [(marks["stem"], marks["res7"]), (marks["res3"], marks["dw5"], marks["pool"])]:
        for x in _inputs(graph, 2):
            np.testing.assert_array_equal(run_patched(graph, PatchPlan(splits, 4, 4), x), run(graph, x))


def test_border_patches_keep_frame_padding_interior_take_halo(net):
    graph, marks = net
    program = build_program(graph, PatchPlan(marks["res3"], 3, 3))
    stem = graph.ops[0]
    pads = {p.grid_pos: next(o for o in p.graph.ops if o.name == stem.name).attrs for p in program.stages[0].patches}
    assert (pads[(0, 0)]["pad_top"], pads[(0, 0)]["pad_left"]) == (stem.attrs["pad_top"], stem.attrs["pad_left"])
    assert (pads[(1, 1)]["pad_top"], pads[(1, 1)]["pad_bottom"], pads[(1, 1)]["pad_left"],
            pads[(1, 1)]["pad_right"]) == (0, 0, 0, 0)
    assert pads[(2, 2)]["pad_bottom"] == stem.attrs["pad_bottom"]
    # the 3x3 depthwise of the residual block needs one row of halo each side: tiles of 4 rows -> 6 rows
    mid = program.stages[0].patches[4]
    assert mid.graph.tensors[f"s0:{graph.ops[0].outputs[0]}"].shape[1] == 6


def test_walk_axis_exact_intervals():
    # 3x3 stride 2 pad 1 over 10 rows, then 3x3 stride 1 pad 1 (5 rows): rows [2, 4) of the output
    nodes = [RFNode("a", ("x",), "y", Window(3, 2, 1), None), RFNode("b", ("y",), "z", Window(3, 1, 1), None)]
    w = walk_axis(nodes, {"x": 10, "y": 5, "z": 5}, "z", 2, 4, "rows")
    assert w.held == {"z": (2, 4), "y": (1, 5), "x": (1, 10)}
    assert w.pads == {"b": (0, 0), "a": (0, 0)}
    w0 = walk_axis(nodes, {"x": 10, "y": 5, "z": 5}, "z", 0, 1, "rows")
    assert w0.held["x"] == (0, 4) and w0.pads["a"] == (1, 0) and w0.pads["b"] == (1, 0)
    assert grid_cuts(7, 3) == [(0, 3), (3, 5), (5, 7)]


def test_parse_patch():
    assert parse_patch("4x4@op12").splits == (12,) and parse_patch("3x2").grid == (3, 2)
    assert parse_patch("4x4@op12,op22").splits == (12, 22) and parse_patch("auto").is_auto
    with pytest.raises(Exception, match="expected NxM"):
        parse_patch("4by4")


def test_plan_that_cannot_apply_names_op_and_reason(net):
    graph, marks = net
    with pytest.raises(UnsupportedError, match=r"op 15 mean_s8 .* cannot run on patches"):
        build_program(graph, PatchPlan(16, 2, 2))
    with pytest.raises(UnsupportedError, match=r"is also read by op 3 add_s8"):
        build_program(graph, PatchPlan(1, 2, 2))  # inside the residual block: two tensors cross
    with pytest.raises(UnsupportedError, match=r"op 14 avg_pool2d_s8 .* 2 rows x 2 columns, too few for a 4x4"):
        build_program(graph, PatchPlan(marks["avg"], 4, 4))
    with pytest.raises(UnsupportedError, match="does not exist"):
        build_program(graph, PatchPlan(99, 2, 2))

from dataclasses import replace

import numpy as np
import pytest

from tinycore.ir import Graph, Op, Tensor
from tinycore.errors import PlanError
from tinycore.memory import (ArenaPlan, Buffer, check_plan, flash_bytes, flash_report, format_memory_table,
                             plan_arena, plan_graph)
from tinycore.memory.graph_plan import graph_schedule
from tinycore.memory.schedule import _plan
from tinycore.memory.plot import plot_memory_profile
from tinycore.memory.rules import conv_col_bytes


def test_planner_reuses_freed_space():
    plan = plan_arena([Buffer("a", 100, 0, 1), Buffer("b", 60, 2, 3), Buffer("c", 40, 1, 2)])
    assert plan.offsets == {"a": 0, "b": 0, "c": 100}
    assert plan.peak_bytes == 140


def test_planner_aligns_offsets_to_4_bytes():
    plan = plan_arena([Buffer("a", 10, 0, 0), Buffer("b", 3, 0, 0), Buffer("c", 5, 0, 0)])
    assert plan.offsets == {"a": 0, "c": 12, "b": 20}
    assert plan.peak_bytes == 24


def _act(name, shape, scale=0.05, zp=0):
    return Tensor(name, shape, "int8", (scale,), zp)


def _const(name, arr):
    return Tensor(name, tuple(arr.shape), str(arr.dtype), (1.0,), 0, arr)


def _conv(graph, name, x, out, cin, cout, k=1, stride=1, pad=0, depthwise=False):
    rng = np.random.default_rng(0)
    wshape = (1, k, k, cout) if depthwise else (cout, k, k, cin)
    graph.tensors[f"{name}.w"] = _const(f"{name}.w", rng.integers(-127, 128, wshape).astype(np.int8))
    for part, val in (("b", 0), ("m", 1 << 30), ("s", -8)):
        graph.tensors[f"{name}.{part}"] = _const(f"{name}.{part}", np.full((cout,), val, np.int32))
    attrs = dict(stride_h=stride, stride_w=stride, dilation_h=1, dilation_w=1, pad_top=pad, pad_bottom=pad,
                 pad_left=pad, pad_right=pad, input_zp=0, output_zp=0, act_min=-128, act_max=127)
    if depthwise:
        attrs["depth_multiplier"] = 1
    graph.ops.append(Op("depthwise_conv2d_s8" if depthwise else "conv2d_s8", name,
                        [x, f"{name}.w", f"{name}.b", f"{name}.m", f"{name}.s"], [out], attrs))


def _chain_graph():
    """x(8x8x16) -dw3x3-> a(8x8x16) -pw 16->8-> b(8x8x8) -pw 8->24-> c(8x8x24)."""
    g = Graph({}, [], ["x"], ["c"])
    for n, c in (("x", 16), ("a", 16), ("b", 8), ("c", 24)):
        g.tensors[n] = _act(n, (1, 8, 8, c))
    _conv(g, "dw", "x", "a", 16, 16, k=3, pad=1, depthwise=True)
    _conv(g, "pw1", "a", "b", 16, 8)
    _conv(g, "pw2", "b", "c", 8, 24)
    return g


def test_inplace_depthwise_and_pointwise_share_one_buffer():
    g = _chain_graph()  # dw 16 -> 16, then pw 16 -> 8: all three tensors can live in x's buffer
    g.ops.pop()
    g.outputs = ["b"]
    del g.tensors["c"]
    plain, shared = plan_graph(g, allow_inplace=False), plan_graph(g, memory_first=False)
    assert plain.arena_bytes == 1024 + 1024  # x and a both alive at dw
    assert shared.inplace == {"dw": True, "pw1": True}
    assert shared.offsets["x"] == shared.offsets["a"] == shared.offsets["b"]
    col = conv_col_bytes(1, 1, 16, 64)  # pw1's DSP column area: 8 columns of 16 int16 values
    assert col == 256
    assert shared.scratch["dw"][1] == 64 and shared.scratch["pw1"][1] == 8 + col
    assert shared.arena_bytes == 1024 + 8 + col  # one 1024 B buffer + pw1's pixel and column scratch
    assert shared.lower_bound_bytes == shared.arena_bytes
    check_plan(g, shared)
    # memory first: pw1's 8 columns would raise the peak (dw's 64 B channel), blocks of 4 (128 B) and 2 (64 B)
    # too; one column of 16 int16 values (32 B) fits beside its 8 B pixel: 1024 + 40 <= 1024 + 64
    lean = plan_graph(g)
    assert lean.scratch["pw1"][1] == 8 + 32 and lean.arena_bytes == 1024 + 64 == lean.lower_bound_bytes
    assert [r.columns for r in lean.per_layer] == [0, 1]
    check_plan(g, lean)


def test_inplace_is_dropped_where_it_would_raise_the_peak():
    g = _chain_graph()  # after pw1 shrinks to 512 B, pw2 expands to 1536 B: an in-place x/a/b buffer stays 1024 B
    schedule = graph_schedule(g)
    all_inplace = _plan(schedule, schedule.lifetimes(), "all", {})
    pw2_col = conv_col_bytes(1, 1, 8, 64)
    assert all_inplace.arena_bytes == 1024 + 1536 + pw2_col  # pw2's column beside both buffers
    plan = plan_graph(g, memory_first=False)
    assert plan.arena_bytes == 2048 + pw2_col < all_inplace.arena_bytes
    assert plan.inplace["pw1"] is False and plan.inplace["pw2"] is False
    check_plan(g, plan)


def test_a_column_is_planned_only_where_it_does_not_raise_the_peak():
    """Memory first: conv3x3 (4 -> 4 channels, 512 B alive) keeps its 576 B column beside the later peak; the
    pointwise 4 -> 32 at the peak (256 + 2048 B alive) runs column-free; the arena is the peak of the tensors."""
    g = Graph({}, [], ["x"], ["b"])
    for n, c in (("x", 4), ("a", 4), ("b", 32)):
        g.tensors[n] = _act(n, (1, 8, 8, c))
    _conv(g, "c3", "x", "a", 4, 4, k=3, pad=1)
    _conv(g, "pw", "a", "b", 4, 32)
    col3, col_pw = conv_col_bytes(3, 3, 4, 64), conv_col_bytes(1, 1, 4, 64)
    assert (col3, col_pw) == (576, 64)
    plan, fast = plan_graph(g), plan_graph(g, memory_first=False)
    assert [r.columns for r in plan.per_layer] == [0, -1]
    assert plan.scratch == {"c3": (plan.scratch["c3"][0], col3)}
    assert plan.arena_bytes == plan.lower_bound_bytes == 256 + 2048
    assert fast.arena_bytes == 256 + 2048 + col_pw and [r.columns for r in fast.per_layer] == [0, 0]
    check_plan(g, plan)


def test_an_arena_limit_buys_back_the_columns_it_has_room_for():
    """With a budget (graph.meta["arena_limit_bytes"], written by an app's export) the planner keeps the fastest
    columns that fit it: a limit at the speed-first arena gives the full column, one byte less gives the smallest
    arena again, and a plan with the limit in meta equals the one with the limit passed."""
    g = Graph({}, [], ["x"], ["b"])
    for n, c in (("x", 4), ("a", 4), ("b", 32)):
        g.tensors[n] = _act(n, (1, 8, 8, c))
    _conv(g, "c3", "x", "a", 4, 4, k=3, pad=1)
    _conv(g, "pw", "a", "b", 4, 32)
    smallest, fast = plan_graph(g).arena_bytes, plan_graph(g, memory_first=False).arena_bytes
    assert smallest < fast
    assert [r.columns for r in plan_graph(g, arena_limit=fast).per_layer] == [0, 0]
    assert plan_graph(g, arena_limit=fast).arena_bytes == fast
    tight = plan_graph(g, arena_limit=fast - 1)
    assert tight.arena_bytes <= fast - 1 and tight.per_layer[1].columns != 0
    g.meta["arena_limit_bytes"] = fast
    assert plan_graph(g).arena_bytes == fast and plan_graph(g, arena_limit=0).arena_bytes == smallest
    check_plan(g, plan_graph(g))


def test_memory_table_flash_and_plot(tmp_path):
    g = _chain_graph()
    plan = plan_graph(g)
    table = format_memory_table(plan)
    assert "<- peak" in table and f"{plan.arena_bytes:,} B" in table
    weights = 16 * 9 + 16 * 8 + 8 * 24
    assert flash_report(g).weights_bytes == weights
    assert flash_bytes(g) == weights + 3 * 4 * (16 + 8 + 24)
    png = plot_memory_profile(plan, tmp_path / "mem.png", "chain")
    assert png.stat().st_size > 1000


def test_overlap_check_refuses_hand_made_overlaps():
    g = _chain_graph()
    plan = plan_graph(g)
    check_plan(g, plan)
    # a and b are both alive at pw1 (a read, b written) and pw1 is not planned in place: b may not sit on a
    bad = ArenaPlan(4096, {"x": 0, "a": 1024, "b": 1024 + 256, "c": 2048}, {"dw": False, "pw1": False, "pw2": False},
                    {})
    with pytest.raises(PlanError, match=r"'a' \[1024, 2048\) and 'b' \[1280, 1792\) share bytes"):
        check_plan(g, bad)
    # the same offsets are fine once pw1 writes over a by design
    ok = ArenaPlan(4096, {"x": 0, "a": 1024, "b": 1024, "c": 2048}, {"dw": False, "pw1": True, "pw2": False},
                   {"pw1": (3072, 8)})
    check_plan(g, ok)
    # scratch is a buffer of its own: on top of pw1's output it is an overlap
    with pytest.raises(PlanError, match=r"scratch:pw1"):
        check_plan(g, replace(ok, scratch={"pw1": (1024, 8)}))
    # in place claimed, but no input starts where the output starts
    with pytest.raises(PlanError, match=r"'pw1' \(step 1\) is planned in place"):
        check_plan(g, replace(ok, offsets={**ok.offsets, "b": 0}))
    with pytest.raises(PlanError, match="outside the 2048 B arena"):
        check_plan(g, replace(ok, arena_bytes=2048))


def test_plans_are_deterministic_and_refined_below_the_policies():
    g = _chain_graph()
    schedule = graph_schedule(g)
    policies = [_plan(schedule, schedule.lifetimes(), p, {}).arena_bytes for p in ("none", "same_size", "all")]
    a, b = plan_graph(g), plan_graph(g)
    assert a == b and a.arena_bytes <= min(policies)


def test_cli_analyze_and_generate_exit_nonzero_on_an_overlapping_plan(tmp_path, monkeypatch, capsys):
    """A planner bug (here: every buffer placed at offset 0) is caught by the check inside plan_graph."""
    import tinycore.memory.schedule as schedule
    from tinycore.cli.tool import main
    from tinycore.memory.planner import Placement

    path = _chain_graph().save(tmp_path / "chain.graph")
    assert main(["analyze", str(path), "--json"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(schedule, "plan_arena", lambda bufs: Placement({b.name: 0 for b in bufs},
                                                                         max(b.size_bytes for b in bufs)))
    for cmd in (["analyze", str(path)], ["generate", str(path), "--out", str(tmp_path / "gen")]):
        assert main(cmd) == 2
        assert "share bytes while both are alive" in capsys.readouterr().err


def test_a_buffer_tail_frees_after_its_last_step():
    """A shrinking in-place op's input keeps its tail only until that op: later buffers may use those bytes."""
    plan = plan_arena([Buffer("tokens", 100, 0, 3, tail_bytes=900, tail_last=0), Buffer("mlp", 800, 1, 2),
                       Buffer("scratch", 16, 0, 0)])
    assert plan.offsets["mlp"] == 100 and plan.offsets["scratch"] == 1000 and plan.peak_bytes == 1016


def test_patch_embedding_decomposition_frees_the_input_rows():
    """A patch embedding (kernel = stride) writes its token rows over the input rows it has read; the planner
    keeps only the tokens once it is done, so a layer after it reuses the rest of the input's bytes."""
    from tinycore.memory.schedule import Schedule, Step, plan_schedule

    steps = (Step(0, "patch", ("in",), "tok", ("in",), scratch_bytes=(32, 64), opt_in=True),
             Step(1, "fc", ("tok",), "hid", ()), Step(2, "fc2", ("hid", "tok"), "out", ()))
    sch = Schedule(steps, {"in": 3000, "tok": 256, "hid": 2000, "out": 8}, (("in", 0, 0),), ("out",))
    p = plan_schedule(sch)
    assert p.inplace["patch"] and p.offsets["tok"] == p.offsets["in"]
    assert p.arena_bytes == 3000 + 64  # input + scratch at the patch op; later 256 + 2000 + 8 fit inside
    plain = plan_schedule(sch, allow_inplace=False)
    assert plain.arena_bytes == 3000 + 256 + 32

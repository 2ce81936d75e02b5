"""The patch arena, planned exactly: hand-checked bytes, invariants, and the MobileNetV2 figures of the issue."""
import pytest

from tests.patch.graphs import patch_net, tiny_net
from tinycore.memory import plan_graph
from tinycore.memory.patch_plan import check_patch_plan, plan_patch_program
from tinycore.patch import INPUT_MODES, PatchPlan, build_program


def test_hand_checked_bytes():
    # 8x8x4 input (256 B) -> 1x1 conv to 8 ch (512 B, the stage-2 input) -> mean (8 B), 2x2 patches:
    # per patch a 4x4x4 input crop (64 B) and a 4x4x8 conv output (128 B), and the conv's scratch: a block of 8
    # int16 columns of 4 values (64 B). At the conv: frame 256 + stage-2 input 512 + 64 + 128 + 64 = 1,024 B;
    # without the frame 768 B; stream: a band of 4 rows x 8 x 4 = 128 B -> 896 B. No patches: 256 + 512, the conv
    # column-free (memory first: its 64 B column would raise that peak); with every column planned 256 + 512 + 64.
    g = tiny_net()
    got = {m: plan_patch_program(build_program(g, PatchPlan(0, 2, 2), m)).arena_bytes for m in INPUT_MODES}
    assert got == {"frame": 1024, "stream": 896, "external": 768}
    assert plan_graph(g).arena_bytes == 768
    assert plan_graph(g, memory_first=False).arena_bytes == 832


@pytest.mark.parametrize("mode", INPUT_MODES)
def test_plan_invariants_and_ordering(mode):
    graph, marks = patch_net(0)
    program = build_program(graph, PatchPlan((marks["res3"], marks["pool"]), 4, 4), mode)
    plan = plan_patch_program(program, refine=True)
    check_patch_plan(program, plan)
    assert plan.arena_bytes >= plan.lower_bound_bytes == max(plan.live_bytes)
    assert plan.arena_bytes <= plan_patch_program(program).arena_bytes


def test_modes_order():
    graph, marks = patch_net(0)
    a = {m: plan_patch_program(build_program(graph, PatchPlan(marks["res7"], 3, 3), m)).arena_bytes
         for m in INPUT_MODES}
    assert a["external"] <= a["stream"] <= a["frame"]


@pytest.mark.slow
def test_mobilenet_v2_224_4x4_meets_mcunetv2_and_f412():
    torch = pytest.importorskip("torch")
    from tests.quant.models import mobilenet_v2
    from tinycore.patch.search import choose_plan
    from tinycore.quant import quantize

    torch.manual_seed(0)
    graph = quantize(mobilenet_v2(1.0).eval(), [torch.randn(2, 3, 224, 224)])
    f = choose_plan(graph, "4x4", "stream")
    assert f.arena_bytes_input_excluded <= 172_000  # MCUNetV2's figure
    assert f.arena_bytes == f.arena_bytes_stream <= 256 * 1024  # fits an STM32F412 with a streamed input
    assert f.arena_bytes < f.arena_bytes_no_patch
    assert f.mac_overhead_pct <= 20.0

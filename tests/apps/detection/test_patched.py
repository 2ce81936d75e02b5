"""The detector's two-output int8 graph run patch by patch in C (first stage streamed from input rows) equals the
whole-frame numpy runtime on both outputs, byte for byte."""

import pytest
import torch

from apps.detection.model import Detector, default_spec
from tinycore.memory import plan_graph
from tinycore.patch.search import choose_plan
from tinycore.patch.validate import validate_patched
from tinycore.quant import quantize


@pytest.fixture(scope="module", params=[(0, (48, 64)), (24, (48, 64)), (24, (40, 72))],
                ids=["plain", "context", "context-odd-grid"])
def graph(request):
    """The default detector, and one with the context branch (stride-16 blocks, upsample, add before the neck),
    on an even grid (6 x 8) and an odd one (5 x 9: the branch's 3 x 5 map is resized back onto it)."""
    torch.manual_seed(0)
    context, hw = request.param
    spec = default_spec(("a", "b"), input_hw=hw, width=16, context=context)
    model = Detector(spec).eval()
    g = quantize(model, [torch.rand(4, 3, *hw)])
    kinds = {op.kind for op in g.ops}
    assert ({"resize_nearest_s8", "add_s8"} <= kinds) == bool(context)
    return g


def test_two_output_detector_patched_stream_equals_runtime(graph):
    assert len(graph.outputs) == 2
    figures = choose_plan(graph, "2x2", "stream")
    assert figures.plan is not None and figures.arena_bytes < plan_graph(graph).arena_bytes
    r = validate_patched(graph, figures.plan, "host", n=2, seed=1, input_mode="stream", sanitize=True)
    assert r["outputs_match"] is True and r["per_output_match"] == [True, True] and r["max_abs_diff"] == 0

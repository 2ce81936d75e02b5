"""The joint backbone + patch-plan search predicts the memory of the detector it hands to training: the winner's
whole-frame arena and its patched arena (same plan, re-chosen by the export's plan search) equal the quantized
Detector's, within the budget, and the backbone ends at the head's stride."""
import torch

from apps.detection.model import Detector, check_stride
from apps.detection.search import search_detector, search_section
from tinycore.budget import Budget
from tinycore.memory import plan_graph
from tinycore.patch.search import choose_plan
from tinycore.quant import quantize


def test_search_winner_memory_equals_the_exported_detector():
    budget = Budget.parse("48KB", "1MB")
    spec, result = search_detector(("a", "b", "c"), (120, 160), budget, population=4, generations=2, seed=0)
    check_stride(spec)
    s = search_section(result)
    assert s["patch"] != "none" and s["predicted_arena_bytes"] <= budget.sram_bytes < s["predicted_arena_bytes_no_patch"]
    torch.manual_seed(0)
    graph = quantize(Detector(spec).eval(), [torch.rand(2, 3, 120, 160)])
    assert plan_graph(graph, arena_limit=0).arena_bytes == s["predicted_arena_bytes_no_patch"]
    fig = choose_plan(graph, "auto", "stream")
    assert fig.arena_bytes <= s["predicted_arena_bytes"]  # the export's plan search finds this plan or a better one
    assert len(result.candidates) >= 4 and all(c.cost.arena_bytes <= budget.sram_bytes for c in result.candidates)

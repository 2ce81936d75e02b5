"""The app's default model fits the default budget (64 KB SRAM, 256 KB Flash) as export measures it, with room
to spare: the exact arena and Flash of the quantized default spec (they do not depend on the weights)."""
import numpy as np
import torch

from apps.kws.task import DEFAULT_BLOCKS, DEFAULT_WIDTH, TASK
from tinycore.memory import flash_bytes, plan_graph
from tinycore.memory.graph_plan import ARENA_LIMIT_KEY
from tinycore.quant import quantize
from tinycore.spec import build_model
from tinycore.spec.zoo import ds_cnn
from tinycore.task import TaskData


def _graph(spec):
    torch.manual_seed(0)
    graph = quantize(build_model(spec).eval(), [torch.randn(16, 1, 49, 10) for _ in range(2)])
    graph.meta[ARENA_LIMIT_KEY] = 64 * 1024  # as export: the planner fills the budget with faster kernel columns
    return graph


def test_default_dscnn_fits_the_budget_with_flash_to_spare_and_neither_a_wider_nor_a_deeper_one_does():
    empty = (np.zeros((0, 1, 49, 10), np.float32), np.zeros(0, np.int64))
    data = TaskData(empty, empty, empty, (1, 49, 10), tuple(f"c{i}" for i in range(12)), {}, {})
    graph = _graph(TASK.default_spec(data))
    arena, flash = plan_graph(graph).arena_bytes, flash_bytes(graph)
    # README (Results, "Twice the depth"): 20,976 B arena and 234,832 B Flash, as demo's report.json measured them
    assert (arena, flash) == (20976, 234832)
    assert arena <= 64 * 1024 and flash <= 256 * 1024 - 15 * 1024
    wider = _graph(ds_cnn(DEFAULT_WIDTH + 16, classes=12, dropout=(0.1, 0.2), blocks=DEFAULT_BLOCKS))
    assert flash_bytes(wider) > 256 * 1024  # 168 channels: 281,040 B
    deeper = _graph(ds_cnn(DEFAULT_WIDTH, classes=12, dropout=(0.1, 0.2), blocks=DEFAULT_BLOCKS + 1))
    assert flash_bytes(deeper) > 256 * 1024  # 9 blocks: 262,952 B

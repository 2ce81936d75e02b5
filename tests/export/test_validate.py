"""validate(): numpy runtime vs generated C on random inputs, and that a mismatch is reported as one."""
import numpy as np

import tinycore.runtime
from tests.cases.random_graphs import random_graph
from tinycore.export import validate
from tinycore.memory import flash_bytes, plan_graph


def test_validate_host_matches_and_reports_memory():
    g = random_graph(11)
    result = validate(g, target="host", n=20, seed=0)
    assert result["outputs_match"] is True
    assert result["n_checked"] == 20 and result["max_abs_diff"] == 0
    assert result["arena_bytes"] == plan_graph(g).arena_bytes
    assert result["flash_bytes"] == flash_bytes(g)


def test_validate_reports_a_difference(monkeypatch):
    g = random_graph(12)
    real_run = tinycore.runtime.run

    def off_by_one(graph, x):
        y = real_run(graph, x).astype(np.int16)
        return np.where(y < 127, y + 1, y - 1).astype(np.int8)

    monkeypatch.setattr(tinycore.runtime, "run", off_by_one)
    result = validate(g, n=3, seed=1)
    assert result["outputs_match"] is False and result["max_abs_diff"] == 1 and result["n_checked"] == 3


def test_validate_with_sanitizers():
    result = validate(random_graph(13), n=4, seed=2, sanitize=True)
    assert result["outputs_match"] is True and result["n_checked"] == 4

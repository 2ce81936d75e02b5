"""Token overwriting (MCUFormer): a fully connected layer per token writes its output over its own input.

The planner takes max(input, output) plus a one-token scratch instead of input + output; the C loop runs forward
when a token shrinks and backward when it grows, so every output equals the runtime (host C under ASan here, QEMU
in test_firmware through the FC case table)."""
import re

import numpy as np
import pytest

from tests.cases.fully_connected import FC_CASES
from tests.export.conftest import case_inputs
from tests.export.plans import hand_plan
from tinycore.errors import UnsupportedError
from tinycore.export import generate_c
from tinycore.export.batch import run_models_on_host
from tinycore.memory import plan_graph
from tinycore.memory.rules import scratch_bytes
from tinycore.runtime import run

TOKEN_CASES = [c for c in FC_CASES if c.per_token]
BY_NAME = {c.name: c for c in FC_CASES}


def _align(n: int) -> int:
    return (n + 3) // 4 * 4


def test_forced_token_overwrite_equals_runtime(tmp_path):
    """Every per-token case forced in place (scratch last: an overrun is an ASan error), forward and backward."""
    graphs = [c.make(0) for c in TOKEN_CASES]
    plans = [hand_plan(g, {g.ops[0].name: 0}, {g.ops[0].name: scratch_bytes(g.ops[0], g, True)}) for g in graphs]
    models = [(g, case_inputs(g, seed=3)) for g in graphs]
    outs = run_models_on_host(models, tmp_path, plans=plans, sanitize=True)
    for c, (g, xs), got in zip(TOKEN_CASES, models, outs):
        for x, o in zip(xs, got):
            np.testing.assert_array_equal(o, run(g, x).reshape(-1), err_msg=c.name)


@pytest.mark.parametrize("name,direction", [("tokens_shrink", "forward"), ("tokens_expand", "backward")])
def test_planner_overwrites_tokens_and_arena_is_exact(name, direction, tmp_path):
    g = BY_NAME[name].make(0)
    x, y = g.tensors["x"], g.tensors["y"]
    plan = plan_graph(g)
    assert plan.inplace["fully_connected_s8"]
    assert plan.offsets["x"] == plan.offsets["y"]
    # only the staged token (4-aligned) follows the shared buffer: both FC kernels read their input in place
    assert scratch_bytes(g.ops[0], g, True) == _align(x.shape[-1])
    assert plan.arena_bytes == _align(max(x.nbytes, y.nbytes)) + scratch_bytes(g.ops[0], g, True)
    assert plan.arena_bytes < _align(x.nbytes) + _align(y.nbytes)
    gen = generate_c(g, tmp_path / "m", plan=plan)
    header = (tmp_path / "m" / "model.h").read_text()
    assert re.search(r"#define MODEL_ARENA_BYTES (\d+)", header).group(1) == str(plan.arena_bytes) == \
        str(gen.arena_bytes)
    loop = "t = 0; t < " if direction == "forward" else f"t = {x.shape[1] - 1}; t >= 0; --t"
    assert loop in (tmp_path / "m" / "model.c").read_text()


def test_vector_fc_in_place_is_refused(tmp_path):
    g = BY_NAME["vector"].make(0)
    with pytest.raises(UnsupportedError, match="only a per-token layer"):
        generate_c(g, tmp_path / "m", plan=hand_plan(g, {"fully_connected_s8": 0}, {"fully_connected_s8": 64}))

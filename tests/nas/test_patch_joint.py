"""Receptive-field redistribution and the joint (network, grid, split) evolution: constraints hold for every
subnet, nothing over budget, arenas equal tinycore.patch's figures, and a budget only patches meet is met."""
import re

import numpy as np
import pytest

from tinycore.budget import Budget
from tinycore.errors import BudgetError, SpecError
from tinycore.memory import plan_graph
from tinycore.nas import EvolutionConfig, SearchSpace, StageSpec, evolve, graph_shape, subnet_cost
from tinycore.nas.joint import JointConfig, JointCostModel, Rejected, joint_evolve, split_op
from tinycore.nas.patch_space import Redistribution, patch_stage_blocks, receptive_field, redistribute
from tinycore.patch.search import evaluate_plan
from tinycore.spec.layers import Conv

EVO = EvolutionConfig(population=6, generations=3, mutation_prob=0.3, max_tries=200)


def image_space(**kw) -> SearchSpace:
    """MobileNetV2-like, 3 x R x R images, small enough for tests (a subnet plans in milliseconds)."""
    return SearchSpace(stages=(StageSpec(8, 1, (1, 2)), StageSpec(16, 2, (1, 2, 3)), StageSpec(24, 2, (1, 2, 3)),
                               StageSpec(32, 2, (1, 2))),
                       head_classes=3, input_shape=lambda r: (3, r, r), widths=(0.5, 1.0), resolutions=(32, 40),
                       kernels=(3, 5, 7), expands=(3, 6), stem=Conv(8, kernel=3, stride=2, act="relu6"),
                       name="img", **kw)


def macs_score(space):
    return lambda arch: float(subnet_cost(space.to_spec(arch, name=space.name)).macs)


def check_redistributed(space: SearchSpace, arch) -> None:
    space.check_arch(arch)
    for s in range(2):
        assert arch.depths[s] <= 1 and set(arch.kernels[s]) == {3}, arch.short()
    for s in (2, 3):
        assert set(arch.kernels[s]) <= {5, 7}, arch.short()


def test_redistributed_space_constrains_every_sampled_and_evolved_subnet():
    base = image_space()
    rs = redistribute(base, Redistribution(2, patch_kernels=(3,), patch_max_depth=1, late_kernels=(5, 7)))
    assert [st.depths for st in rs.stages] == [(1,), (1,), (1, 2, 3, 4), (1, 2, 3)]
    assert rs.kernels == (3, 5, 7) and rs.patch_stages == 2
    assert rs.describe()["stages"][0]["kernels"] == [3] and "kernels" not in base.describe()["stages"][0]
    rng = np.random.default_rng(0)
    for _ in range(200):
        check_redistributed(rs, rs.sample(rng, 1.0, 40))
    for arch in (rs.largest(1.0, 40), rs.smallest(1.0, 40)):
        check_redistributed(rs, arch)
    res = evolve(rs, 1.0, 40, Budget(64 * 1024, 1024 * 1024), macs_score(rs), EVO, np.random.default_rng(1))
    for c in res.candidates:  # mutation and crossover keep the per-stage kernels too
        check_redistributed(rs, c.arch)
    # the patch stage's receptive field shrinks: at most stem 3 + two 3x3 blocks, vs up to two 7x7 + ... before
    assert receptive_field(rs, rs.largest(1.0, 40), patch_stage_blocks(rs, rs.largest(1.0, 40))) == 3 + 2 * 2 + 2 * 2
    assert receptive_field(base, base.largest(1.0, 40), 2) == 3 + 6 * 2 + 6 * 2
    with pytest.raises(SpecError, match="patch_stages must be in 1..3"):
        redistribute(base, 4)
    with pytest.raises(SpecError, match=r"stages\[0\].kernels"):
        SearchSpace(stages=(StageSpec(8, 1, (1,), kernels=(9,)),), head_classes=2, input_shape=(3, 8, 8))


def test_joint_candidates_fit_and_arenas_equal_tinycore_patch():
    space = redistribute(image_space(), 2)
    cfg = JointConfig(grids=(None, (2, 2), (3, 3)), input_mode="frame", evolution=EVO)
    budget = Budget(20 * 1024, 1024 * 1024)
    res = joint_evolve(space, 1.0, 40, budget, macs_score(space), cfg, np.random.default_rng(0))
    assert len(res.candidates) >= EVO.population and [h["generation"] for h in res.history] == [0, 1, 2]
    for c in res.candidates:
        check_redistributed(space, c.arch)
        assert budget.fits(c.cost.arena_bytes, c.cost.flash_bytes, c.cost.patched_macs), c.to_dict()
        graph = graph_shape(space.to_spec(c.arch, name=space.name))
        assert c.cost.arena_bytes_no_patch == plan_graph(graph).arena_bytes
        if c.cost.plan is None:
            assert c.cost.arena_bytes == c.cost.arena_bytes_no_patch and c.patch == "none"
            continue
        fig = evaluate_plan(graph, c.cost.plan, "frame")
        assert (c.cost.arena_bytes, c.cost.mac_overhead_pct) == (fig.arena_bytes, fig.mac_overhead_pct)
        assert c.cost.arena_bytes < c.cost.arena_bytes_no_patch and c.cost.mac_overhead_pct <= 20.0
        assert c.cost.plan.splits == (split_op(graph, c.split_blocks),)
        assert c.split_blocks <= patch_stage_blocks(space, c.arch)  # the split stays in the patch stages
    best = res.best
    assert best.score == max(c.score for c in res.candidates)
    assert re.fullmatch(r"none|\dx\d@op\d+", best.patch)


def test_a_budget_only_patches_meet_gives_a_patched_winner():
    space = image_space()
    cfg = JointConfig(grids=(None, (2, 2), (3, 3), (4, 4)), input_mode="stream", evolution=EVO)
    smallest = plan_graph(graph_shape(space.to_spec(space.smallest(1.0, 40), name=space.name))).arena_bytes
    # no subnet fits without patches; the per-op in-place refinement brought the unpatched arenas closer to the
    # patched ones, so the margin is 256 B (was 1024 B)
    budget = Budget(smallest - 256, 1024 * 1024)
    res = joint_evolve(space, 1.0, 40, budget, macs_score(space), cfg, np.random.default_rng(3))
    assert res.rejected["over budget"] > 0
    assert all(c.cost.plan is not None for c in res.candidates)
    assert res.best.cost.arena_bytes <= budget.sram_bytes < res.best.cost.arena_bytes_no_patch
    graph = graph_shape(space.to_spec(res.best.arch, name=space.name))
    assert res.best.cost.arena_bytes == evaluate_plan(graph, res.best.cost.plan, "stream").arena_bytes
    assert res.best.patch == str(res.best.cost.plan)


def test_plans_that_cannot_be_honoured_are_rejected_not_unpatched():
    space = redistribute(image_space(), 2)
    model = JointCostModel(space, JointConfig(grids=((4, 4),)))
    arch = space.largest(1.0, 32)
    with pytest.raises(Rejected, match="patch stages"):
        model(arch, (2, 2), patch_stage_blocks(space, arch) + 1)
    with pytest.raises(Rejected, match="cannot be honoured"):
        model(arch, (32, 32), 2)  # the split tensor is 8 x 8: too few rows for 32 grid rows
    with pytest.raises(BudgetError, match=r"nearest .* with patches \dx\d@op\d+ needs arena [\d,]+ B"):
        joint_evolve(space, 1.0, 40, Budget(2 * 1024, 1024 * 1024), macs_score(space),
                     JointConfig(grids=((2, 2),), evolution=EvolutionConfig(population=2, generations=1,
                                                                            max_tries=20)),
                     np.random.default_rng(0))


def test_joint_modules_import_no_torch():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "tinycore" / "nas"
    for name in ("joint.py", "patch_space.py"):
        tree = ast.parse((root / name).read_text())
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "torch" not in imported, name

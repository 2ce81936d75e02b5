"""The design space around a user's layers: stages, droppable layers, width scaling, and a seeded search."""
import numpy as np

from tinycore.budget import Budget
from tinycore.nas.evolution import EvolutionConfig, evolve
from tinycore.optimize.cost import CandidateCost
from tinycore.optimize.space import Genome, UserSpace
from tinycore.spec import FC, Conv, DWConv, Flatten, GlobalPool, InputSpec, ModelSpec, analyze

SPEC = ModelSpec(InputSpec(3, 16, 16), name="user", blocks=(
    Conv(16, stride=2, bn=False), DWConv(bn=False), Conv(16, kernel=1, bn=False), DWConv(stride=2, bn=False),
    Conv(32, kernel=1, bn=False), DWConv(bn=False), Conv(32, kernel=1, bn=False), GlobalPool(), Flatten(), FC(2)))


def test_stages_depths_kernels_of_a_mobilenet_v1_like_model():
    space = UserSpace(SPEC)
    d = space.describe()
    assert d["stages"] == 2 and d["depths"] == [[0, 1, 2], [0, 1, 2]] and d["kernels"] == [[3, 5], [3, 5]]
    assert d["resolutions"] == [16, 12, 8]
    own = space.to_spec(space.original)
    assert [type(x) for x in own.blocks] == [type(x) for x in SPEC.blocks]
    assert all(getattr(x, "bn", True) for x in own.blocks if isinstance(x, (Conv, DWConv)))  # BN back for training
    small = space.to_spec(Genome(8, (0.5, 0.25), (0, 1), (3, 5)))
    analyze(small)
    assert small.input.shape() == (3, 8, 8)
    # stage 0 keeps none of its two shape-keeping layers, stage 1 the first (its depthwise conv)
    assert [x.kind for x in small.blocks] == ["conv", "dwconv", "conv", "dwconv", "globalpool", "flatten", "fc"]
    assert [x.out for x in small.blocks if x.kind == "conv"] == [8, 8] and small.blocks[-1].out == 2
    assert [(x.kernel, x.padding) for x in small.blocks if x.kind == "dwconv"] == [(5, "same"), (5, "same")]


def test_the_search_is_deterministic_from_the_seed():
    """Same seed, same scored subnets in the same order (the space and evolve take the RNG; costs are exact)."""
    space, budget = UserSpace(SPEC), Budget(2048, 4096)

    def search(seed):
        cost = CandidateCost(space, budget)
        r = evolve(space, 1.0, 16, budget, lambda g: float(np.log10(cost(g).macs)), EvolutionConfig(6, 3),
                   np.random.default_rng(seed), cost=cost)
        return [(c.arch.key(), c.arena_bytes, c.flash_bytes) for c in r.candidates]

    first = search(0)
    assert first == search(0) and first != search(1)
    assert all(a <= 2048 and f <= 4096 for _, a, f in first)

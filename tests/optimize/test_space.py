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


def test_user_genes_give_way_when_too_few_candidates_that_keep_them_fit():
    """fit_user_genes keeps the share of user genes while enough random candidates fit, and lowers it (halving,
    then 0) when they do not; the shares it reports are the measured fitting shares."""
    roomy = UserSpace(SPEC, keep_user_gene=0.5)
    assert roomy.fit_user_genes(lambda g: True, seed=0) == {"0.5": 1.0} and roomy.keep_user_gene == 0.5

    def small(g: Genome) -> bool:  # no stage at the user's width, input below the user's 16
        return 1.0 not in g.widths and g.resolution < 16
    tight = UserSpace(SPEC, keep_user_gene=0.5)
    shares = tight.fit_user_genes(small, seed=0)
    # P(fit) = (p keeps 1.0 or draws it)^c: p=0.5 -> 0.4^2 * 1/3 = 0.053, p=0.25 -> 0.6^2 * 0.5 = 0.18
    assert list(shares) == ["0.5", "0.25"] and tight.keep_user_gene == 0.25
    assert abs(shares["0.5"] - 0.053) < 0.04 and abs(shares["0.25"] - 0.18) < 0.06
    never = UserSpace(SPEC, keep_user_gene=0.5)
    assert list(never.fit_user_genes(lambda g: False, seed=0)) == ["0.5", "0.25", "0.125", "0"]
    assert never.keep_user_gene == 0.0

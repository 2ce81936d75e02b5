"""The search's score spends both budgets: at equal MACs the subnet with more parameters ranks first, and alike."""
import math

from tinycore.nas.cost import SubnetCost
from tinycore.optimize.cost import search_score


def test_score_rewards_macs_and_params_alike():
    base = search_score(SubnetCost(1000, 2000, 50_000_000, 100_000))
    assert math.isclose(base, math.log10(50_000_000 * 100_000))
    assert search_score(SubnetCost(1000, 2000, 50_000_000, 140_000)) > base  # more Flash spent at the MACs limit
    assert search_score(SubnetCost(1000, 2000, 60_000_000, 100_000)) > base
    assert math.isclose(search_score(SubnetCost(0, 0, 25_000_000, 200_000)), base)  # a trade, not a preference

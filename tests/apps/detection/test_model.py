"""DetectorSpec with and without the context branch: its JSON round trip, the parameter count detector_stats
predicts (the README's and report.json's figure) against the torch module's convs."""

import pytest
from torch import nn

from apps.detection.model import Detector, default_spec, detector_stats, spec_from_json


def _conv_params(model: nn.Module) -> int:
    """Weights + one bias per output channel (a BN after a bias-free conv folds into one)."""
    return sum(m.weight.numel() + m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("context", [0, 128])
def test_stats_count_the_modules_params_and_json_round_trips(context):
    spec = default_spec(("a", "b", "c"), context=context)
    assert spec_from_json(spec.to_json()) == spec
    assert detector_stats(spec)["params"] == _conv_params(Detector(spec))
    if context:
        plain = detector_stats(default_spec(("a", "b", "c"), context=0))
        gh, gw = spec.grid_hw()  # the branch runs on the (gh / 2, gw / 2) grid: 9c + c x + 25 x + x c MACs a cell
        assert detector_stats(spec)["macs"] - plain["macs"] == gh // 2 * gw // 2 * (9 * 64 + 2 * 64 * 128 + 25 * 128)


def test_old_spec_json_without_context_loads():
    import json

    d = json.loads(default_spec(("a",), context=0).to_json())
    del d["context"]
    assert spec_from_json(json.dumps(d)).context == 0

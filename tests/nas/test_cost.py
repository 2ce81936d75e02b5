"""The torch-free graph-shape builder gives EXACTLY the arena and Flash of the quantized model."""
import numpy as np
import pytest
import torch

from tinycore.errors import UnsupportedError
from tinycore.ir.validate import validate_graph
from tinycore.memory import flash_bytes, plan_graph
from tinycore.nas import graph_shape, subnet_cost
from tinycore.quant import quantize
from tinycore.spec import (FC, SE, Act, Conv, DWConv, Flatten, GlobalPool, InputSpec, MaxPool, ModelSpec, Residual,
                           build_model, ds_cnn_s, model_stats)
from tests.nas.problems import tiny_space


def _quantized(spec: ModelSpec):
    torch.manual_seed(0)
    return quantize(build_model(spec), [torch.randn(8, *spec.input.shape())])


def _specs():
    space = tiny_space()
    rng = np.random.default_rng(3)
    specs = [space.to_spec(space.sample(rng, float(rng.choice(space.widths)), int(rng.choice(space.resolutions))))
             for _ in range(4)]
    specs.append(space.to_spec(space.largest(1.0, 20)))
    specs.append(ds_cnn_s(frames=25, coeffs=10))  # DWSep blocks, 10x4 stride-2 stem
    specs.append(ModelSpec(InputSpec(3, 11, 9), stem=(Conv(8, kernel=4, stride=2, act="relu"), MaxPool(2)),
                           head=(Flatten(), FC(10, act="relu"), FC(3))))  # even kernel: pad_s8; flatten of a map
    specs.append(ModelSpec(InputSpec(3, 16, 12), name="v3_resnet_layers", blocks=(  # what the importers produce
        Conv(8, stride=2, act="hswish", bn=False),
        Residual(body=(Conv(16, kernel=1, act="hswish"), DWConv(kernel=5, act="hswish"),
                       SE(squeeze=4, act="relu", gate="hsigmoid"), Conv(8, kernel=1, act="none"))),
        DWConv(stride=2, act="relu"), SE(squeeze=2, act="hswish", gate="sigmoid"),
        Residual(body=(Conv(16, stride=2, act="relu"), Conv(16, act="none")),
                 shortcut=(Conv(16, kernel=1, stride=2, act="none"),)), Act("relu"),
        GlobalPool(), Flatten(), FC(12, act="hswish"), FC(3))))
    return specs


@pytest.mark.parametrize("spec", _specs(), ids=lambda s: s.name or "custom")
def test_shape_graph_memory_equals_quantized_graph(spec):
    ours = graph_shape(spec)
    validate_graph(ours, spec.name)
    ref = _quantized(spec)
    assert [(o.kind, o.name) for o in ours.ops] == [(o.kind, o.name) for o in ref.ops]
    assert plan_graph(ours).arena_bytes == plan_graph(ref).arena_bytes
    assert flash_bytes(ours) == flash_bytes(ref)
    cost = subnet_cost(spec)
    assert (cost.arena_bytes, cost.flash_bytes) == (plan_graph(ref).arena_bytes, flash_bytes(ref))
    assert cost.macs == model_stats(spec)["macs"]


def test_cost_is_cached_by_spec():
    space = tiny_space()
    a = subnet_cost(space.to_spec(space.smallest(0.5, 16)))
    assert subnet_cost(space.to_spec(space.smallest(0.5, 16))) is a


def test_known_numbers_of_the_smallest_subnet():
    space = tiny_space()
    c = subnet_cost(space.to_spec(space.smallest(0.5, 16)))
    # Flash: 2,728 int8 weights + 12 B (bias, mult, shift) x 244 output channels = 5,656 B.
    # Arena peak in block 0 (16x8 map): residual input 8 ch (1,024 B) + expanded 24 ch (3,072 B) + 128 B, at the
    # expansion (its DSP column, 8 columns of 8 int16 values) and at the in-place depthwise (one 16x8 channel)
    # = 4,224 B. The 1x1 projection 24 -> 8 in place over the expanded map would add its output pixel (8 B) and a
    # block of 8 columns of 24 values (384 B): 4,488 B, so memory first gives it blocks of 2 (96 B; 4,200 B there).
    assert (c.arena_bytes, c.flash_bytes, c.params) == (4224, 5656, 2972)


def test_fc_with_batchnorm_is_refused():
    spec = ModelSpec(InputSpec(features=8), head=(FC(4, bn=True),))
    with pytest.raises(UnsupportedError, match="head.fc"):
        graph_shape(spec)

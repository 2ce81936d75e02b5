"""build_model agrees with model_stats: shapes, folded params and hook-counted MACs; names; fx tracing."""
import operator

import pytest
import torch
from torch import nn

from tinycore.spec import (ZOO, Conv, InputSpec, MBConv, ModelSpec, Residual, build_model, model_stats, zoo_spec)
from tinycore.spec.build import ProjectedResidualBlock, ResidualBlock
from tests.spec.cases import CASES

SMALL_ZOO = {  # zoo models at sizes that run in well under a second
    "ds_cnn_s": zoo_spec("ds_cnn_s"),
    "ds_cnn": zoo_spec("ds_cnn", width=128),
    "mobilenet_v1": zoo_spec("mobilenet_v1"),
    "mobilenet_v1_025": zoo_spec("mobilenet_v1_025"),
    "mobilenet_v2": zoo_spec("mobilenet_v2", width=0.35, resolution=64, classes=10),
    "dense_autoencoder": zoo_spec("dense_autoencoder"),
    "dense_autoencoder_bn": zoo_spec("dense_autoencoder", bn=True),
    "idnn": zoo_spec("idnn"),
    "tc_resnet": zoo_spec("tc_resnet"),
    "tc_resnet14": zoo_spec("tc_resnet", depth=14, width=1.25),
}
SPECS = {**SMALL_ZOO, **CASES}
assert set(ZOO) <= set(SMALL_ZOO)


def folded_params(model: nn.Module) -> int:
    """What an int8 export holds: conv/fc weights plus one bias per output channel (BN folded)."""
    return sum(m.weight.numel() + m.weight.shape[0] for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def hook_macs(model: nn.Module, x: torch.Tensor) -> int:
    total = 0

    def count(m, inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out[0].numel() * m.weight[0].numel()  # per sample: (Co*Ho*Wo) * (kh*kw*Ci/groups)
        else:
            total += m.in_features * m.out_features
    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model(x)
    for h in hooks:
        h.remove()
    return total


def _input(spec, batch=2):
    torch.manual_seed(0)
    return torch.randn(batch, *spec.input.shape())


@pytest.mark.parametrize("name", SPECS)
def test_forward_shapes_params_macs_match_stats(name):
    spec = SPECS[name]
    stats = model_stats(spec)
    model = build_model(spec).eval()
    x = _input(spec, batch=1)
    seen = {}
    hooks = [model.get_submodule(l["name"]).register_forward_hook(
        lambda m, i, o, n=l["name"]: seen.__setitem__(n, tuple(o.shape[1:]))) for l in stats["layers"]]
    with torch.no_grad():
        y = model(x)
    for h in hooks:
        h.remove()
    assert [seen[l["name"]] for l in stats["layers"]] == stats["shapes"]
    assert tuple(y.shape[1:]) == stats["shapes"][-1]
    assert folded_params(model) == stats["params"]
    bn_channels = sum(m.num_features for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)))
    assert sum(p.numel() for p in model.parameters()) == stats["params"] + bn_channels  # BN: gamma and beta
    with torch.no_grad():
        assert hook_macs(model, x) == stats["macs"]


def test_every_kind_shapes_exact():
    assert model_stats(CASES["every_kind"])["shapes"] == [
        (8, 23, 17), (12, 11, 18), (12, 5, 9), (16, 3, 5), (16, 3, 5), (24, 2, 3), (24, 2, 3), (24, 2, 3),
        (24, 2, 3), (32, 2, 1), (32, 1, 1), (32,), (32,), (20,), (20,), (5,)]


def test_padding_modules():
    model = build_model(CASES["every_kind"])
    assert isinstance(model.stem.conv0.pad, nn.ZeroPad2d)
    assert model.stem.conv0.pad.padding == (0, 1, 0, 1)  # left, right, top, bottom: extra at the end as TF
    assert model.stem.conv1.pad.padding == (2, 1, 1, 0)
    assert model.stem.conv1.conv.padding == (0, 0) and model.stem.conv1.conv.bias is not None
    assert not hasattr(model.blocks[0].dw, "pad") and model.blocks[0].dw.conv.padding == (2, 2)
    assert model.blocks[0].dw.conv.groups == 12 and model.blocks[0].dw.conv.bias is None
    ds = build_model(zoo_spec("ds_cnn_s"))
    assert ds.stem.conv.conv.padding == (5, 1) and ds.stem.conv.conv.stride == (2, 2)
    same = build_model(ModelSpec(InputSpec(channels=1, height=49, width=10),
                                 stem=(Conv(64, kernel=(10, 4), stride=2, padding="same"),)))
    assert same.stem.conv.conv.padding == (5, 1)  # 'same' on an even kernel resolves to the symmetric pads
    assert isinstance(build_model(CASES["every_kind"]).blocks[5], nn.AvgPool2d)
    assert build_model(CASES["every_kind"]).blocks[5].count_include_pad is False


def test_readable_module_names():
    names = {n for n, _ in build_model(zoo_spec("mobilenet_v2", width=0.35, resolution=32)).named_modules()}
    for n in ("stem.conv.conv", "stem.conv.bn", "blocks.0.dw.conv", "blocks.0.project.bn", "blocks.1.expand.conv",
              "blocks.3.dw.act", "head.conv.conv", "head.globalpool", "head.fc"):
        assert n in names
    assert "blocks.0.expand.conv" not in names  # expand ratio 1 has no expansion conv
    ae = {n for n, _ in build_model(zoo_spec("dense_autoencoder", bn=True)).named_modules()}
    assert {"blocks.0.fc", "blocks.0.bn", "blocks.0.act", "head.fc"} <= ae
    assert {n for n, _ in build_model(zoo_spec("ds_cnn_s")).named_modules()} >= {"blocks.3.dw", "blocks.3.pw.conv"}


def test_mbconv_residual_present_exactly_when_shapes_allow():
    spec = ModelSpec(InputSpec(channels=8, height=6, width=6),
                     blocks=(MBConv(8, expand=3), MBConv(8, expand=3, stride=2), MBConv(16, expand=3)))
    model = build_model(spec).eval()
    assert [b.use_residual for b in model.blocks] == [True, False, False]
    for b in model.blocks:  # zero the projection so the block output is only the skip path (or zero)
        nn.init.zeros_(b.project.bn.weight)
        nn.init.zeros_(b.project.bn.bias)
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        assert torch.equal(model.blocks[0](x), x)
        assert torch.equal(model.blocks[1](x), torch.zeros(1, 8, 3, 3))


def test_residual_wrapper_adds_input():
    spec = ModelSpec(InputSpec(channels=4, height=5, width=5), blocks=(Residual(body=(Conv(4), Conv(4))),))
    model = build_model(spec).eval()
    x = torch.randn(3, 4, 5, 5)
    with torch.no_grad():
        assert torch.equal(model(x), x + model.blocks[0].body(x))


@pytest.mark.parametrize("name", SPECS)
def test_fx_traceable(name):
    spec = SPECS[name]
    model = build_model(spec).eval()
    gm = torch.fx.symbolic_trace(model)
    x = _input(spec)
    with torch.no_grad():
        assert torch.equal(gm(x), model(x))
    adds = sum(getattr(m, "use_residual", False) or isinstance(m, (ResidualBlock, ProjectedResidualBlock))
               for m in model.modules())
    assert [n.target for n in gm.graph.nodes if n.op == "call_function"] == [operator.add] * adds


QUANT_LEAVES = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.Linear, nn.AdaptiveAvgPool2d, nn.AvgPool2d,
                nn.MaxPool2d, nn.Flatten, nn.Dropout, nn.ZeroPad2d)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_defaults_use_only_modules_quant_supports(name):
    model = build_model(SMALL_ZOO[name])
    leaves = [m for m in model.modules() if not list(m.children()) and not isinstance(m, nn.Sequential)]
    assert leaves and all(isinstance(m, QUANT_LEAVES) for m in leaves)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            assert m.groups in (1, m.in_channels) and m.dilation == (1, 1)

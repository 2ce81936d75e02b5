"""Elastic kernel, expand ratio and depth: a subnet extracted from the supernet computes what the supernet does."""
import numpy as np
import pytest
import torch

from tinycore.nas.elastic import ElasticDepthwise, ElasticMBConv
from tinycore.nas.supernet import Supernet, recalibrate_bn
from tinycore.spec import SpecModel
from tests.nas.problems import tiny_space


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    space = tiny_space()
    net = Supernet(space, 1.0, 20)
    with torch.no_grad():  # make every shared tensor non-trivial: transforms, BN affine and statistics
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    recalibrate_bn(net, [torch.randn(16, 1, 20, 8) for _ in range(2)])
    return net


def _archs():
    space = tiny_space()
    rng = np.random.default_rng(1)
    return [space.largest(1.0, 20), space.smallest(1.0, 20)] + [space.sample(rng, 1.0, 20) for _ in range(3)]


@pytest.mark.parametrize("arch", _archs(), ids=lambda a: a.short())
def test_extracted_subnet_equals_supernet(net, arch):
    x = torch.randn(5, 1, 20, 8)
    net.set_active(arch)
    net.eval()
    with torch.no_grad():
        y_super = net(x)
        sub = net.extract()
        assert isinstance(sub, SpecModel) and sub.spec == net.space.to_spec(arch)
        sub.eval()
        y_sub = sub(x)
    assert len(sub.spec.blocks) == sum(arch.depths)  # elastic depth: only the active blocks exist
    torch.testing.assert_close(y_sub, y_super, rtol=1e-5, atol=1e-5)


def test_kernel_is_centre_crop_times_learned_transform():
    torch.manual_seed(1)
    dw = ElasticDepthwise(4, (3, 5, 7), stride=1)
    w7 = dw.weight.detach()
    assert torch.equal(dw.kernel_weight(3, 4), w7[:, :, 2:5, 2:5])  # identity transforms: a plain centre crop
    with torch.no_grad():
        dw.transforms["5"].copy_(torch.randn(25, 25))
        dw.transforms["3"].copy_(torch.randn(9, 9))
    w5 = (w7[:, :, 1:6, 1:6].reshape(4, 25) @ dw.transforms["5"]).reshape(4, 1, 5, 5)
    w3 = (w5[:, :, 1:4, 1:4].reshape(4, 9) @ dw.transforms["3"]).reshape(4, 1, 3, 3)
    torch.testing.assert_close(dw.kernel_weight(5, 4), w5)
    torch.testing.assert_close(dw.kernel_weight(3, 4), w3)
    torch.testing.assert_close(dw.kernel_weight(3, 2), w3[:2])  # channel slicing commutes with the transform


def test_channels_sorted_by_importance_keep_the_function():
    torch.manual_seed(2)
    block = ElasticMBConv(8, 8, 1, (3, 5, 7), (3, 4, 6), "relu6")
    with torch.no_grad():
        for bn in (block.expand_bn, block.dw_bn):
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.5, 2)
            bn.weight.normal_()
    block.eval()
    x = torch.randn(2, 8, 6, 5)
    with torch.no_grad():
        y = block(x)
        block.sort_channels()
        importance = block.project_conv.weight.abs().sum(dim=(0, 2, 3))
        assert torch.all(importance[:-1] >= importance[1:])
        torch.testing.assert_close(block(x), y, rtol=1e-5, atol=1e-5)  # a permutation of hidden channels
        block.set_active(5, 3)
        w = block.effective_weights()
    assert block.hidden == 24  # round(8 * 3)
    assert torch.equal(w["expand.conv.weight"], block.expand_conv.weight[:24])  # the 24 most important channels
    assert torch.equal(w["project.conv.weight"], block.project_conv.weight[:, :24])
    assert w["dw.conv.weight"].shape == (24, 1, 5, 5)


def test_recalibrated_bn_holds_plain_averages():
    torch.manual_seed(3)
    space = tiny_space()
    net = Supernet(space, 0.5, 16)
    batches = [torch.randn(8, 1, 16, 8) for _ in range(3)]
    recalibrate_bn(net, batches)
    stem_conv = net.stem.conv.conv
    with torch.no_grad():
        means = [stem_conv(b).mean(dim=(0, 2, 3)) for b in batches]
    torch.testing.assert_close(net.stem.conv.bn.running_mean, torch.stack(means).mean(0), rtol=1e-5, atol=1e-6)
    assert not net.training

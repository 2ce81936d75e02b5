"""BatchNorm folding: the folded conv computes what conv -> BN (eval statistics) computes."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from tinycore.errors import UnsupportedError
from tinycore.quant import quantize
from tinycore.quant.fold import fold_bn


def _random_bn(bn: nn.BatchNorm2d, seed: int) -> nn.BatchNorm2d:
    g = torch.Generator().manual_seed(seed)
    c = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(c, generator=g) * 0.5)
        bn.running_var.copy_(torch.rand(c, generator=g) * 2 + 0.1)
        bn.weight.copy_(torch.randn(c, generator=g))
        bn.bias.copy_(torch.randn(c, generator=g) * 0.3)
    return bn.eval()


@pytest.mark.parametrize("groups,bias", [(1, False), (1, True), (8, False)], ids=["conv", "conv_bias", "depthwise"])
def test_folded_conv_equals_conv_then_bn(groups, bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, 2, 1, groups=groups, bias=bias).eval()
    bn = _random_bn(nn.BatchNorm2d(16), seed=1)
    x = torch.randn(4, 8, 11, 9)
    w, b = fold_bn(conv.weight.detach().numpy(), None if conv.bias is None else conv.bias.detach().numpy(), bn)
    folded = nn.Conv2d(8, 16, 3, 2, 1, groups=groups, bias=True).eval()
    with torch.no_grad():
        folded.weight.copy_(torch.from_numpy(w))
        folded.bias.copy_(torch.from_numpy(b))
        ref, got = bn(conv(x)), folded(x)
    assert float((ref - got).abs().max()) < 1e-5


def test_bn_without_affine_folds():
    conv = nn.Conv2d(3, 4, 1, bias=False).eval()
    bn = nn.BatchNorm2d(4, affine=False).eval()
    bn.running_var.fill_(4.0)
    bn.running_mean.fill_(1.0)
    w, b = fold_bn(conv.weight.detach().numpy(), None, bn)
    np.testing.assert_allclose(w, conv.weight.detach().numpy() / np.sqrt(4.0 + bn.eps), rtol=1e-6)
    np.testing.assert_allclose(b, -1.0 / np.sqrt(4.0 + bn.eps), rtol=1e-6)


def test_bn_not_after_conv_is_named():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4)).eval()
    with pytest.raises(UnsupportedError, match=r"^2 \(torch\.nn\.modules\.batchnorm\.BatchNorm2d\).*Conv2d"):
        quantize(model, [torch.randn(2, 3, 8, 8)])


def test_bn_after_conv_read_twice_is_not_folded():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)

        def forward(self, x):
            y = self.conv(x)
            return self.bn(y) + y

    with pytest.raises(UnsupportedError, match="^bn "):
        quantize(Twice().eval(), [torch.randn(2, 3, 8, 8)])

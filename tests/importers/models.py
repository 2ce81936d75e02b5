"""Small torch models covering every node kind the importers read (MobileNetV1/V2/V3, ResNet, EfficientNet-lite
patterns), shared by the TorchScript and ONNX importer tests."""
from __future__ import annotations

import torch
from torch import nn


def cbr(cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1, act: nn.Module | None = None) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([act] if act is not None else []))


class MobileNetV1ish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(cbr(3, 8, s=2, act=nn.ReLU()), cbr(8, 8, groups=8, act=nn.ReLU()),
                                      cbr(8, 16, k=1, act=nn.ReLU()), cbr(16, 16, s=2, groups=16, act=nn.ReLU()),
                                      cbr(16, 24, k=1, act=nn.ReLU()), nn.AvgPool2d(2))
        self.fc = nn.Linear(24, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.fc(nn.functional.dropout(torch.flatten(y, 1), 0.2, self.training))


class InvertedResidual(nn.Module):
    """MobileNetV2 / EfficientNet-lite block (relu6), optionally with MobileNetV3's hard swish and SE."""

    def __init__(self, c: int, expand: int, k: int = 3, v3: bool = False, gate: str = "hsigmoid") -> None:
        super().__init__()
        act = nn.Hardswish if v3 else nn.ReLU6
        h = c * expand
        self.expand = cbr(c, h, k=1, act=act())
        self.dw = cbr(h, h, k=k, groups=h, act=act())
        self.se = SqueezeExcite(h, gate) if v3 else nn.Identity()
        self.project = cbr(h, c, k=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(self.se(self.dw(self.expand(x))))


class SqueezeExcite(nn.Module):
    def __init__(self, c: int, gate: str) -> None:
        super().__init__()
        self.reduce, self.expand = nn.Conv2d(c, max(c // 4, 1), 1), nn.Conv2d(max(c // 4, 1), c, 1)
        self.gate = nn.Hardsigmoid() if gate == "hsigmoid" else nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.expand(torch.relu(self.reduce(s))))


class MobileNetV2ish(nn.Module):
    def __init__(self, v3: bool = False, k: int = 3, gate: str = "hsigmoid") -> None:
        super().__init__()
        self.stem = cbr(3, 8, s=2, act=nn.Hardswish() if v3 else nn.ReLU6())
        self.block1 = InvertedResidual(8, 4, k, v3, gate)
        self.block2 = InvertedResidual(8, 2, k, v3, gate)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 16), nn.Hardswish(),
                                  nn.Linear(16, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block2(self.block1(self.stem(x))))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(cbr(cin, cout, s=stride, act=nn.ReLU()), cbr(cout, cout))
        self.short = cbr(cin, cout, k=1, s=stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.short(x))


class ResNetish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(cbr(3, 8, act=nn.ReLU()), nn.MaxPool2d(3, 2, 1))
        self.layers = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 16, 2))
        self.fc = nn.Linear(16, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.layers(self.stem(x)).mean((2, 3)))


class AsymmetricPad(nn.Module):
    """Explicit TF-style padding before a strided conv, and a sigmoid output."""

    def __init__(self) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d((0, 1, 0, 1))
        self.conv = nn.Conv2d(3, 4, 3, 2, 0)
        self.fc = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc(torch.flatten(torch.relu(self.conv(self.pad(x))), 1)))


class Dense(nn.Module):
    """A 1-D features input (the anomaly autoencoder's kind)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 12), nn.ReLU(), nn.Linear(12, 20))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Tanh(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x))


class Grouped(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1, groups=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _randomize_bn(m: nn.Module, seed: int) -> nn.Module:
    """Non-trivial BatchNorm statistics, so folding them is tested."""
    g = torch.Generator().manual_seed(seed)
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
            n = mod.num_features
            mod.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
            mod.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            mod.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            mod.bias.data.copy_(torch.randn(n, generator=g) * 0.2)
    return m.eval()


# name -> (factory, per-sample input shape)
SUPPORTED = {
    "mobilenet_v1": (MobileNetV1ish, (3, 32, 32)),
    "mobilenet_v2": (MobileNetV2ish, (3, 16, 16)),
    "mobilenet_v3_hsigmoid": (lambda: MobileNetV2ish(v3=True), (3, 16, 16)),
    "mobilenet_v3_sigmoid": (lambda: MobileNetV2ish(v3=True, gate="sigmoid"), (3, 16, 16)),
    "efficientnet_lite_k5": (lambda: MobileNetV2ish(k=5), (3, 16, 16)),
    "resnet": (ResNetish, (3, 16, 16)),
    "asymmetric_pad": (AsymmetricPad, (3, 16, 16)),
    "dense": (Dense, (20,)),
}
UNSUPPORTED = {"tanh": (Tanh, (3, 8, 8)), "grouped": (Grouped, (4, 8, 8))}


def make(name: str, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    factory, shape = {**SUPPORTED, **UNSUPPORTED}[name]
    torch.manual_seed(seed)
    return _randomize_bn(factory(), seed), shape

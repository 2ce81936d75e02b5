"""Elastic layers of the once-for-all supernet: kernel size, expand ratio and (in supernet.py) depth share weights.

- Kernel (OFA, Cai et al. 2020): the depthwise weight is stored at the largest kernel. A smaller kernel takes the
  centre crop of the next larger *effective* kernel and multiplies each channel's flattened crop by a learned
  (k*k x k*k) transform shared by all channels of the layer (initialised to identity): 7 -> 5 -> 3.
- Expand ratio: the active hidden width is round(cin * e), the first channels of the expand conv, its BN, the
  depthwise conv and the projection's inputs. `sort_channels` orders hidden channels by importance (L1 norm of
  the projection weights that read them), so that small ratios keep the most important channels.
- BatchNorm uses the first n channels' parameters and running statistics (an in-place view, so training and
  recalibration update the shared buffers).

`effective_weights` gives the weights of the active subnet in the layout of tinycore.spec's MBConvBlock, so an
extracted standalone model computes exactly what the supernet computes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tinycore.spec.shapes import mbconv_hidden


class ElasticBN(nn.BatchNorm2d):
    """BatchNorm2d over the first `active` channels (same momentum rules as nn.BatchNorm2d, incl. None)."""

    active: int

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.active = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        factor = 0.0
        if self.training:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        return F.batch_norm(x, self.running_mean[:n], self.running_var[:n], self.weight[:n], self.bias[:n],
                            self.training, factor, self.eps)


class ElasticDepthwise(nn.Module):
    """Depthwise conv stored at the largest kernel; smaller kernels via centre crop + learned transform."""

    def __init__(self, channels: int, kernels: tuple[int, ...], stride: int) -> None:
        super().__init__()
        self.kernels = tuple(sorted(set(kernels), reverse=True))
        self.max_kernel = self.kernels[0]
        self.stride = stride
        self.weight = nn.Parameter(torch.empty(channels, 1, self.max_kernel, self.max_kernel))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")
        self.transforms = nn.ParameterDict({
            str(k): nn.Parameter(torch.eye(k * k)) for k in self.kernels[1:]})
        self.active_kernel = self.max_kernel

    def kernel_weight(self, k: int, channels: int) -> torch.Tensor:
        """(channels, 1, k, k) effective weight of the first `channels` channels at kernel k."""
        w = self.weight[:channels]
        for big, small in zip(self.kernels, self.kernels[1:]):
            if big == k:
                break
            start = (big - small) // 2
            crop = w[:, :, start:start + small, start:start + small].reshape(channels, small * small)
            w = (crop @ self.transforms[str(small)]).reshape(channels, 1, small, small)
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, c = self.active_kernel, x.shape[1]
        return F.conv2d(x, self.kernel_weight(k, c), None, self.stride, k // 2, 1, c)


class ElasticMBConv(nn.Module):
    """MBConv with elastic kernel and expand ratio; the residual rule is tinycore.spec's (stride 1, cin == out)."""

    def __init__(self, cin: int, cout: int, stride: int, kernels: tuple[int, ...], expands: tuple[int, ...],
                 act: str) -> None:
        super().__init__()
        self.cin, self.cout, self.stride = cin, cout, stride
        self.max_hidden = mbconv_hidden(cin, max(expands))
        act_cls = {"relu": nn.ReLU, "relu6": nn.ReLU6}[act]
        self.expand_conv = nn.Conv2d(cin, self.max_hidden, 1, bias=False)
        self.expand_bn = ElasticBN(self.max_hidden)
        self.dw = ElasticDepthwise(self.max_hidden, kernels, stride)
        self.dw_bn = ElasticBN(self.max_hidden)
        self.project_conv = nn.Conv2d(self.max_hidden, cout, 1, bias=False)
        self.project_bn = nn.BatchNorm2d(cout)
        self.act = act_cls()
        self.use_residual = stride == 1 and cin == cout
        self.active_expand = max(expands)

    def set_active(self, kernel: int, expand: int) -> None:
        self.dw.active_kernel = kernel
        self.active_expand = expand

    @property
    def hidden(self) -> int:
        return mbconv_hidden(self.cin, self.active_expand)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.hidden
        y = self.act(self.expand_bn(F.conv2d(x, self.expand_conv.weight[:n])))
        y = self.act(self.dw_bn(self.dw(y)))
        y = self.project_bn(F.conv2d(y, self.project_conv.weight[:, :n]))
        return x + y if self.use_residual else y

    @torch.no_grad()
    def sort_channels(self) -> None:
        """Order hidden channels by importance (L1 of projection weights), descending; the full block's function
        is unchanged (a permutation), smaller expand ratios then keep the most important channels."""
        importance = self.project_conv.weight.abs().sum(dim=(0, 2, 3))
        order = torch.argsort(importance, descending=True, stable=True)
        self.expand_conv.weight.copy_(self.expand_conv.weight[order])
        self.dw.weight.copy_(self.dw.weight[order])
        self.project_conv.weight.copy_(self.project_conv.weight[:, order])
        for bn in (self.expand_bn, self.dw_bn):
            for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
                t.copy_(t[order])

    @torch.no_grad()
    def effective_weights(self) -> dict[str, torch.Tensor]:
        """State dict of the active block in tinycore.spec's MBConvBlock layout (expand/dw/project .conv/.bn)."""
        n, k = self.hidden, self.dw.active_kernel
        out: dict[str, torch.Tensor] = {"expand.conv.weight": self.expand_conv.weight[:n],
                                        "dw.conv.weight": self.dw.kernel_weight(k, n),
                                        "project.conv.weight": self.project_conv.weight[:, :n]}
        for prefix, bn, m in (("expand.bn", self.expand_bn, n), ("dw.bn", self.dw_bn, n),
                              ("project.bn", self.project_bn, self.cout)):
            for name in ("weight", "bias", "running_mean", "running_var"):
                out[f"{prefix}.{name}"] = getattr(bn, name)[:m]
            out[f"{prefix}.num_batches_tracked"] = bn.num_batches_tracked
        return {key: v.detach().clone() for key, v in out.items()}

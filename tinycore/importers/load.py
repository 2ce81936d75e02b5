"""Put the weights `to_spec` kept into the torch module `tinycore.spec.build_model` made for the same spec."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from tinycore.importers.to_spec import Parsed
from tinycore.spec.build import ConvBNAct, ProjectedResidualBlock, ResidualBlock, SEBlock, SpecModel
from tinycore.spec.layers import FC, SE, Conv, DWConv, Residual


def _set(param: nn.Parameter | None, value: np.ndarray, where: str) -> None:
    if param is None or tuple(param.shape) != tuple(value.shape):
        got = None if param is None else tuple(param.shape)
        raise AssertionError(f"{where}: module parameter {got} vs imported {tuple(value.shape)}")
    with torch.no_grad():
        param.copy_(torch.as_tensor(np.asarray(value, dtype=np.float32)))


def _load_conv(conv: nn.Module, w: np.ndarray, b: np.ndarray, where: str) -> None:
    _set(conv.weight, w, f"{where}.weight")
    _set(conv.bias, b, f"{where}.bias")


def _load_list(seq: nn.Sequential, parsed: Parsed, where: str) -> None:
    for i, (layer, weights) in enumerate(zip(parsed.layers, parsed.weights)):
        m, loc = seq[i], f"{where}.{i}"
        if isinstance(layer, (Conv, DWConv)):
            assert isinstance(m, ConvBNAct)
            _load_conv(m.conv, *weights, loc)
        elif isinstance(layer, FC):
            _load_conv(m if isinstance(m, nn.Linear) else m.fc, *weights, loc)
        elif isinstance(layer, SE):
            assert isinstance(m, SEBlock)
            _load_conv(m.reduce, weights[0], weights[1], f"{loc}.reduce")
            _load_conv(m.expand, weights[2], weights[3], f"{loc}.expand")
        elif isinstance(layer, Residual):
            assert isinstance(m, (ResidualBlock, ProjectedResidualBlock))
            _load_list(m.body, weights[0], f"{loc}.body")
            if layer.shortcut:
                _load_list(m.shortcut, weights[1], f"{loc}.shortcut")


def load_weights(model: SpecModel, parsed: Parsed) -> Any:
    """Copy every imported weight into `model` (all layers are in `blocks`); shapes must match exactly."""
    _load_list(model.blocks, parsed, "blocks")
    return model

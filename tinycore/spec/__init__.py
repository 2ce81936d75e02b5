"""Architectures as JSON data (`ModelSpec`), their analytic cost, the torch builder and a reference zoo."""
from tinycore.spec.build import SpecModel, build_model
from tinycore.spec.layers import (FC, SE, Act, AvgPool, Conv, Dropout, DWConv, DWSep, Flatten, GlobalPool, InputSpec,
                                  Layer, MaxPool, MBConv, ModelSpec, Residual, SpecError, layer_from_dict,
                                  layer_to_dict, spec_from_json, spec_to_json)
from tinycore.spec.shapes import LayerInfo, analyze, model_stats, validate
from tinycore.spec.zoo import (ZOO, dense_autoencoder, ds_cnn, ds_cnn_s, idnn, mobilenet_v1, mobilenet_v2, tc_resnet,
                               zoo_spec)

__all__ = [
    "FC", "SE", "Act", "DWConv", "AvgPool", "Conv", "Dropout", "DWSep", "Flatten", "GlobalPool", "InputSpec",
    "Layer", "MaxPool",
    "MBConv", "ModelSpec", "Residual", "SpecError", "SpecModel", "LayerInfo", "ZOO", "analyze", "build_model",
    "dense_autoencoder", "ds_cnn", "ds_cnn_s", "idnn", "layer_from_dict", "layer_to_dict", "mobilenet_v1",
    "mobilenet_v2", "model_stats", "spec_from_json", "spec_to_json", "tc_resnet", "validate", "zoo_spec",
]

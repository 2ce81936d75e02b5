"""Float models in (TorchScript, ONNX, float .tflite) -> `tinycore.spec` + the float weights in the built module.

Each reader turns its file into a `FloatGraph` (graph.py: conv, linear, bn, act, add, mul, pools, flatten, pad in
NCHW); `to_spec` matches the MobileNetV1/V2/V3, ResNet and EfficientNet-lite patterns on it. A node outside
that set raises UnsupportedError naming the node.
"""
from tinycore.importers.api import ImportedModel, import_model

__all__ = ["ImportedModel", "import_model"]

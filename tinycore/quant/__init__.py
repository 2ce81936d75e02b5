"""torch -> integer graph: trace, fold BN, calibrate, per-channel int8 weights, TFLite-exact multipliers; QAT.

`quantize` is the bridge from torch to tinycore.ir for CNNs, `quantize_vit` for the ViTs of tinycore.spec. `io` (numpy only) converts float inputs and outputs at
the graph's edges; `reference.float_reference` gives the float value of every graph tensor for tracing.
"""
from tinycore.quant.convert import quantize
from tinycore.quant.io import dequantize_output, quantize_input
from tinycore.quant.reference import float_reference
from tinycore.quant.vit import quantize_vit

__all__ = ["quantize", "quantize_input", "dequantize_output", "float_reference", "quantize_vit"]

"""Integer-only numpy execution of the graph (the reference semantics) and per-layer tracing."""
from tinycore.runtime.fixedpoint import quantize_float_s8, quantize_multiplier, requantize
from tinycore.runtime.interpreter import flat_outputs, graph_inputs, run, run_batch, run_op, run_outputs
from tinycore.runtime.ops import OP_FUNCTIONS

__all__ = ["run", "run_outputs", "run_batch", "run_op", "graph_inputs", "flat_outputs", "requantize",
           "quantize_multiplier", "quantize_float_s8", "OP_FUNCTIONS"]

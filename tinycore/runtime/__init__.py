"""Integer-only numpy execution of the graph (the reference semantics) and per-layer tracing."""
from tinycore.runtime.fixedpoint import quantize_multiplier, requantize
from tinycore.runtime.interpreter import run, run_batch, run_op
from tinycore.runtime.ops import OP_FUNCTIONS

__all__ = ["run", "run_batch", "run_op", "requantize", "quantize_multiplier", "OP_FUNCTIONS"]

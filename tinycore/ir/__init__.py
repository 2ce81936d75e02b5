"""The integer graph (see `graph.py` for the layout conventions and `schema.py` for every op)."""
from tinycore.ir.file import load_graph, save_graph
from tinycore.ir.graph import GRAPH_FORMAT_VERSION, Graph, Op, Tensor
from tinycore.ir.schema import SCHEMAS, conv_output_hw
from tinycore.ir.validate import validate_graph

__all__ = ["Graph", "Op", "Tensor", "GRAPH_FORMAT_VERSION", "SCHEMAS", "conv_output_hw", "load_graph",
           "save_graph", "validate_graph"]

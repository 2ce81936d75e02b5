"""Flash accounting: every constant the firmware holds for the model.

`flash_bytes(graph)` counts the model's constant arrays (weights, biases, requantization multipliers and
shifts, and the tables the exporter derives for some ops: logistic / hard swish lookups, resize indices, softmax
exp tables) as the C export emits them, byte for byte. Kernel code is measured on the built firmware (`text_bytes`
in a firmware report), since it depends on the compiler and the board.
"""
from __future__ import annotations

from dataclasses import dataclass

from tinycore.ir.graph import Graph


@dataclass(frozen=True)
class FlashReport:
    weights_bytes: int  # int8 weight arrays
    bias_bytes: int  # int32 biases
    requant_bytes: int  # int32 multipliers and shifts
    total_bytes: int
    table_bytes: int = 0  # tables the C export derives from attributes (see op_table_bytes)


def op_table_bytes(graph: Graph) -> int:
    """Constant tables that are not graph tensors: 256 int8 per lookup op, one int32 per output row and column of a
    nearest resize, 256 int32 per softmax (its exp table) (tinycore.export.emit)."""
    total = 0
    for op in graph.ops:
        if op.kind in ("logistic_s8", "hard_swish_s8"):
            total += 256
        elif op.kind == "resize_nearest_s8":
            total += 4 * (op.attrs["out_h"] + op.attrs["out_w"])
        elif op.kind == "softmax_s8":
            total += 4 * 256
    return total


def flash_report(graph: Graph) -> FlashReport:
    """Constant bytes by role; a constant shared by two ops is counted once, under its first use."""
    role_of: dict[str, str] = {}
    for op in graph.ops:
        for role, name in zip(("x", "weights", "bias", "mult", "shift"), op.inputs):
            role_of.setdefault(name, role)
    by_role = {"weights": 0, "bias": 0, "requant": 0}
    for t in graph.constants():
        role = role_of.get(t.name, "weights")
        by_role["requant" if role in ("mult", "shift") else role if role in by_role else "weights"] += t.nbytes
    tables = op_table_bytes(graph)
    total = sum(by_role.values()) + tables
    return FlashReport(by_role["weights"], by_role["bias"], by_role["requant"], total, tables)


def flash_bytes(graph: Graph) -> int:
    """Bytes of constant model data in Flash (each constant counted once even if two ops share it)."""
    return sum(t.nbytes for t in graph.constants()) + op_table_bytes(graph)

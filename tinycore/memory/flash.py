"""Flash accounting: every constant the firmware holds for the model.

`flash_bytes(graph)` counts the model's constant arrays (weights, biases, requantization multipliers and
shifts) as the C export emits them, byte for byte. Kernel code is measured on the built firmware (`text_bytes`
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
    total = sum(by_role.values())
    return FlashReport(by_role["weights"], by_role["bias"], by_role["requant"], total)


def flash_bytes(graph: Graph) -> int:
    """Bytes of constant model data in Flash (each constant counted once even if two ops share it)."""
    return sum(t.nbytes for t in graph.constants())

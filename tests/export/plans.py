"""Hand-made arena plans: force the in-place kernels and the reshape copy regardless of the planner's choices.

Every group of tensors (an in-place output joins its input's group) gets its own region, sized for its largest
member; scratch regions go last, so a kernel that writes past its scratch runs off the end of tc_arena (which
AddressSanitizer reports).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tinycore.ir import Graph
from tinycore.memory.rules import scratch_bytes as rule_scratch_bytes


@dataclass
class HandPlan:
    arena_bytes: int
    offsets: dict[str, int]
    inplace: dict[str, bool]
    scratch: dict[str, tuple[int, int]] = field(default_factory=dict)


def _align(n: int) -> int:
    return (n + 3) // 4 * 4


def hand_plan(graph: Graph, inplace: dict[str, int] | None = None, scratch_bytes: dict[str, int] | None = None,
              alias_reshape: bool = True) -> HandPlan:
    """inplace: op name -> index of the input its output overwrites; scratch_bytes: op name -> scratch size
    (0: none), by default the kernel's need (tinycore.memory.rules.scratch_bytes) for every op."""
    inplace = inplace or {}
    scratch_bytes = {op.name: rule_scratch_bytes(op, graph, op.name in inplace) for op in graph.ops} | \
        (scratch_bytes or {})
    group: dict[str, str] = {n: n for n in graph.inputs}
    for op in graph.ops:
        out = op.outputs[0]
        if op.name in inplace:
            group[out] = group[op.inputs[inplace[op.name]]]
        elif op.kind == "reshape" and alias_reshape:
            group[out] = group[op.inputs[0]]
        else:
            group[out] = out
    sizes: dict[str, int] = {}
    for t, g in group.items():
        sizes[g] = max(sizes.get(g, 0), graph.tensors[t].nbytes)
    base: dict[str, int] = {}
    end = 0
    for g, size in sizes.items():
        base[g] = end
        end += _align(size)
    scratch = {}
    for name, size in scratch_bytes.items():
        if size:
            scratch[name] = (end, size)
            end += _align(size)
    return HandPlan(end, {t: base[g] for t, g in group.items()}, {op.name: op.name in inplace for op in graph.ops},
                    scratch)

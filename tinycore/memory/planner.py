"""Place buffers with known lifetimes in one arena: the offsets the C code uses and the arena size it declares.

Greedy placement as in TFLite Micro's planner (each buffer at the lowest offset free over its whole lifetime),
tried in several orders; the smallest arena wins. Offsets are aligned so that int32 scratch and word loads work.
"""
from __future__ import annotations

from dataclasses import dataclass

ALIGN_BYTES = 4


@dataclass(frozen=True)
class Buffer:
    name: str
    size_bytes: int
    first_step: int  # op index where it is written (or 0 for graph inputs)
    last_step: int  # op index of its last reader (inclusive)


@dataclass(frozen=True)
class Placement:
    offsets: dict[str, int]
    peak_bytes: int


def align_up(n: int, align: int = ALIGN_BYTES) -> int:
    return (n + align - 1) // align * align


def _overlaps(a: Buffer, b: Buffer) -> bool:
    return a.first_step <= b.last_step and b.first_step <= a.last_step


def _place_in_order(buffers: list[Buffer]) -> Placement:
    placed: list[tuple[int, Buffer]] = []
    offsets: dict[str, int] = {}
    peak = 0
    for buf in buffers:
        size = align_up(buf.size_bytes)
        busy = sorted((off, align_up(other.size_bytes)) for off, other in placed if _overlaps(buf, other))
        offset = 0
        for off, sz in busy:
            if offset + size <= off:
                break
            offset = max(offset, off + sz)
        placed.append((offset, buf))
        offsets[buf.name] = offset
        peak = max(peak, offset + size)
    return Placement(offsets, peak)


_ORDERS = {
    "size": lambda b: (-b.size_bytes, b.first_step),
    "start": lambda b: (b.first_step, -b.size_bytes),
    "area": lambda b: (-b.size_bytes * (b.last_step - b.first_step + 1), b.first_step),
    "long_first": lambda b: (-(b.last_step - b.first_step), -b.size_bytes),
}


def plan_arena(buffers: list[Buffer]) -> Placement:
    """Offsets for every buffer such that buffers alive at the same step never overlap; smallest of several orders."""
    if not buffers:
        return Placement({}, 0)
    best: Placement | None = None
    for key in _ORDERS.values():
        p = _place_in_order(sorted(buffers, key=key))
        if best is None or p.peak_bytes < best.peak_bytes:
            best = p
    return best


def live_bytes_per_step(buffers: list[Buffer], n_steps: int) -> list[int]:
    """Sum of (aligned) buffer sizes alive at each step: a lower bound on any placement of these buffers."""
    live = [0] * n_steps
    for b in buffers:
        for s in range(max(b.first_step, 0), min(b.last_step, n_steps - 1) + 1):
            live[s] += align_up(b.size_bytes)
    return live

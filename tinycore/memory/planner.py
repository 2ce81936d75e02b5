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
    # bytes right after this buffer that it also holds from first_step to tail_last: the part of a larger input
    # a shrinking in-place op (a patch embedding's token rows) frees once it has read it
    tail_bytes: int = 0
    tail_last: int = -1


@dataclass(frozen=True)
class Placement:
    offsets: dict[str, int]
    peak_bytes: int


def align_up(n: int, align: int = ALIGN_BYTES) -> int:
    return (n + align - 1) // align * align


def _overlaps(a: Buffer, b: Buffer) -> bool:
    return a.first_step <= b.last_step and b.first_step <= a.last_step


def _parts(buf: Buffer, offset: int) -> list[tuple[int, int, int, int]]:
    """(first, last, lo, hi) of the bytes a buffer placed at `offset` holds: itself, then its tail."""
    size = align_up(buf.size_bytes)
    parts = [(buf.first_step, buf.last_step, offset, offset + size)]
    if buf.tail_bytes:
        parts.append((buf.first_step, buf.tail_last, offset + size, offset + size + align_up(buf.tail_bytes)))
    return parts


def _place_with_tail(buf: Buffer, placed: list[tuple[int, Buffer]]) -> int:
    """The lowest offset where the buffer and its tail both miss every placed part alive at the same steps."""
    others = [q for off, other in placed for q in _parts(other, off)]
    mine = _parts(buf, 0)
    starts = sorted({0} | {hi - lo0 for f, l, lo, hi in others for f0, l0, lo0, _ in mine
                           if f0 <= l and f <= l0 and hi - lo0 >= 0})
    for offset in starts:
        if all(not (f0 <= l and f <= l0 and lo0 + offset < hi and lo < hi0 + offset)
               for f, l, lo, hi in others for f0, l0, lo0, hi0 in mine):
            return offset
    raise AssertionError("unreachable: the end of the last part is always free")


def _place_in_order(buffers: list[Buffer]) -> Placement:
    placed: list[tuple[int, Buffer]] = []
    offsets: dict[str, int] = {}
    peak = 0
    for buf in buffers:
        size = align_up(buf.size_bytes)
        if buf.tail_bytes:
            offset = _place_with_tail(buf, placed)
        else:
            busy = sorted((lo, hi - lo) for off, other in placed for f, l, lo, hi in _parts(other, off)
                          if f <= buf.last_step and buf.first_step <= l)
            offset = 0
            for off, sz in busy:
                if offset + size <= off:
                    break
                offset = max(offset, off + sz)
        placed.append((offset, buf))
        offsets[buf.name] = offset
        peak = max(peak, max(hi for *_, hi in _parts(buf, offset)))
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
        for s in range(max(b.first_step, 0), min(b.tail_last, n_steps - 1) + 1):
            live[s] += align_up(b.tail_bytes)
    return live

"""Receptive-field walk: which rows and columns of every stage-1 tensor a patch of the stage-2 input needs.

The walk runs on an abstract list of `RFNode`s (built from the integer graph here, or from a torch module by
`float_exec`), one axis at a time: rows and columns are independent for every op we patch (rectangular windows),
so a patch's region is (rows of its grid row) x (columns of its grid column).

For an op with window (kernel k, stride s, dilation d, padding p before) whose output interval is [lo, hi), the
input it reads is [lo*s - p, (hi-1)*s - p + (k-1)*d + 1). The part outside the frame [0, size) is the op's
padding for this patch (frame borders keep the frame's padding); the part inside is real pixels, the halo
included. A tensor read by several ops (a residual) is computed over the union of what they read; a reader that
needs less gets a crop. With these intervals each patch op computes exactly its output slice of the whole frame.
"""
from __future__ import annotations

from dataclasses import dataclass

from tinycore.errors import UnsupportedError


@dataclass(frozen=True)
class Window:
    """One axis of a sliding window. Elementwise ops have no Window (None)."""

    kernel: int
    stride: int
    pad_before: int
    dilation: int = 1

    @property
    def extent(self) -> int:
        return (self.kernel - 1) * self.dilation + 1


@dataclass(frozen=True)
class RFNode:
    """An op as the walk sees it: activation inputs, one output, a window per axis (None = elementwise)."""

    name: str
    inputs: tuple[str, ...]
    output: str
    rows: Window | None
    cols: Window | None


@dataclass(frozen=True)
class AxisWalk:
    """One axis of one grid row (or column): the interval each tensor holds and what each node reads."""

    held: dict[str, tuple[int, int]]  # tensor -> [lo, hi) computed (union of what its readers need)
    reads: dict[str, tuple[int, int]]  # node name -> [lo, hi) of its input(s) it reads
    pads: dict[str, tuple[int, int]]  # node name -> (padding before, padding after) for this patch


def walk_axis(nodes: list[RFNode], sizes: dict[str, int], split: str, lo: int, hi: int, axis: str) -> AxisWalk:
    """Walk back from interval [lo, hi) of tensor `split` along `axis` ('rows' or 'cols').

    `nodes` are in execution order and end with the node producing `split`; `sizes` gives every tensor's extent
    on this axis. Raises UnsupportedError naming the node when a patch would read nothing but padding.
    """
    held: dict[str, tuple[int, int]] = {split: (lo, hi)}
    reads: dict[str, tuple[int, int]] = {}
    pads: dict[str, tuple[int, int]] = {}
    for node in reversed(nodes):
        if node.output not in held:
            raise UnsupportedError(f"op '{node.name}': its output '{node.output}' does not reach the split tensor "
                                   f"'{split}'; every op before the split must feed it (split later or earlier)")
        o_lo, o_hi = held[node.output]
        win = node.rows if axis == "rows" else node.cols
        n_in = sizes[node.inputs[0]]
        if win is None:
            start, end = o_lo, o_hi
        else:
            start = o_lo * win.stride - win.pad_before
            end = (o_hi - 1) * win.stride - win.pad_before + win.extent
        i_lo, i_hi = max(0, start), min(n_in, end)
        if i_lo >= i_hi:
            raise UnsupportedError(f"op '{node.name}': a patch covering {axis} [{o_lo}, {o_hi}) of its output reads "
                                   f"only padding; use fewer patches along {axis}")
        reads[node.name] = (i_lo, i_hi)
        pads[node.name] = (i_lo - start, end - i_hi)
        for t in node.inputs:
            if t in held:
                held[t] = (min(held[t][0], i_lo), max(held[t][1], i_hi))
            else:
                held[t] = (i_lo, i_hi)
    return AxisWalk(held, reads, pads)


def grid_cuts(size: int, n: int) -> list[tuple[int, int]]:
    """[lo, hi) of n nearly equal parts of `size` (larger parts first when it does not divide)."""
    base, extra = divmod(size, n)
    cuts, lo = [], 0
    for i in range(n):
        hi = lo + base + (1 if i < extra else 0)
        cuts.append((lo, hi))
        lo = hi
    return cuts

"""Per-op instruction profiles from the firmware: a profiling build of the generated model run in QEMU.

The profiling build is the same model.c compiled with -DTC_PROFILE (tinycore.export.model_files): each op's kernel
call sits between two reads of the board's exact instruction counter. The harness prints the raw counts
(`profile <overhead> <copy-in> <copy-out> <op 0> ...`). Every raw count includes one pair of counter reads, so
the profile subtracts `overhead` (two back-to-back reads, measured in the same build) from each.

The check that the profile is whole: the plain build (no TC_PROFILE) counts the full inference around
model_invoke; sum(per-op) + copies must equal it within the instrumentation's overhead: |unaccounted| <=
instrumentation_instructions (the profiling build's whole count minus the plain one: 10-13 per bracket measured
on M4/M7). What is left (4-9 per op measured) is work the compiler moves outside a bracket (argument set-up before
the first read, the conversion and store after the second) and the function's prologue and epilogue. An op without code (reshape) can read one below the overhead: it counts
as 0.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinycore.errors import BuildError, UnsupportedError
from tinycore.ir.graph import Graph
from tinycore.ir.stats import op_macs

PROFILE_DEFINE = "-DTC_PROFILE"
_LINE = re.compile(r"^profile((?: \d+)+)$")
METHOD = ("profiling build (-DTC_PROFILE): board counter read before and after each op's kernel call in model.c "
          "(tinycore.export.firmware.METHOD); each count minus the measured cost of one pair of reads")


@dataclass(frozen=True)
class RawProfile:
    """One `profile` line: raw counts, each including one pair of counter reads (`overhead`)."""

    overhead: int
    copy_in: int
    copy_out: int
    ops: tuple[int, ...]


def parse_profile(text: str, n_ops: int, where: str = "firmware") -> list[RawProfile]:
    """Every `profile` line of a program's output, in order; a line with the wrong number of ops is an error."""
    found = []
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if m is None:
            continue
        values = [int(v) for v in m.group(1).split()]
        if len(values) != n_ops + 3:
            raise BuildError(f"{where}: a profile line has {len(values) - 3} op counts, the model has {n_ops} ops")
        found.append(RawProfile(values[0], values[1], values[2], tuple(values[3:])))
    if not found:
        raise BuildError(f"{where}: no `profile` line; was it built with {PROFILE_DEFINE}?")
    return found


def profile_rows(graph: Graph, raw: RawProfile) -> list[dict]:
    """One row per op: index, kind, name, macs (tinycore.ir.stats.op_macs), instructions (raw - overhead, >= 0)."""
    if len(raw.ops) != len(graph.ops):
        raise BuildError(f"profile has {len(raw.ops)} ops, the graph {len(graph.ops)}")
    return [{"index": i, "kind": op.kind, "name": op.name, "macs": int(op_macs(op, graph)),
             "instructions": int(max(0, n - raw.overhead))} for i, (op, n) in enumerate(zip(graph.ops, raw.ops))]


def per_kind(rows: list[dict]) -> dict[str, dict]:
    """Instructions, MACs and instructions per MAC summed by op kind (ratio None for kinds without MACs)."""
    out: dict[str, dict] = {}
    for r in rows:
        k = out.setdefault(r["kind"], {"n_ops": 0, "macs": 0, "instructions": 0})
        k["n_ops"] += 1
        k["macs"] += r["macs"]
        k["instructions"] += r["instructions"]
    for k in out.values():
        k["instructions_per_mac"] = round(k["instructions"] / k["macs"], 3) if k["macs"] else None
    return out


def summarize(graph: Graph, raw: RawProfile, whole: int, whole_profiled: int) -> dict:
    """The report's profile: rows, copies, overhead, per kind, and the check against the plain build's count
    (`whole`; `whole_profiled` is the same count in the profiling build: what the instrumentation costs)."""
    rows = profile_rows(graph, raw)
    copies = raw.copy_in + raw.copy_out - 2 * raw.overhead
    unaccounted = whole - sum(r["instructions"] for r in rows) - copies
    macs = sum(r["macs"] for r in rows)
    return {"per_op_instructions": rows, "copy_instructions": int(copies),
            "timer_overhead_instructions": int(raw.overhead), "instructions_per_inference_plain": int(whole),
            "unaccounted_instructions": int(unaccounted),
            "instrumentation_instructions": int(whole_profiled - whole),
            "instructions_per_mac": round(whole / macs, 3) if macs else None, "macs": int(macs),
            "per_kind": per_kind(rows), "profile_method": METHOD}


def profile_on_board(graph: Graph, board: str = "mps2-an386", *, seed: int = 0, dsp: bool | None = None,
                     keep_dir: str | Path | None = None, timeout_s: float = 300.0, memory_first: bool = True) -> dict:
    """Build the model twice for an emulated board (plain and -DTC_PROFILE), run one random input in each, and
    return `summarize`'s dict plus outputs_match (both builds == the numpy runtime). BuildError when the per-op
    sum misses the plain count by more than the reads' overhead (the module docstring). memory_first=False plans
    every conv column (plan_graph), to compare the column paths with the memory-first plan's."""
    from tinycore.export.boards import get_board
    from tinycore.export.codegen import generate_c
    from tinycore.export.firmware import build_firmware, check_graph_fits, graph_stack, use_dsp
    from tinycore.export.harness import parse_output
    from tinycore.export.model_files import io_bytes
    from tinycore.export.qemu import run_in_qemu
    from tinycore.export.validate import compare_outputs, random_inputs
    from tinycore.memory import flash_bytes, plan_graph

    b = get_board(board)
    if not b.emulated:
        raise UnsupportedError(f"board '{b.name}': per-op profiles need the exact counter of an emulated board "
                               f"(mps2-an385, mps2-an386, mps2-an500)")
    dsp_on = use_dsp(b, dsp)
    plan = plan_graph(graph, memory_first=memory_first)
    check_graph_fits(b, plan.arena_bytes, flash_bytes(graph), io_bytes(graph)[0],
                     stack=graph_stack(graph, b, dsp_on))
    inputs = random_inputs(graph, 1, seed)
    with tempfile.TemporaryDirectory(prefix="tc_profile_") as tmp:
        root = Path(keep_dir) if keep_dir is not None else Path(tmp)
        gen = generate_c(graph, root / "model", test_inputs=inputs, plan=plan)
        texts = {}
        for tag, defines in (("plain", ()), ("profile", (PROFILE_DEFINE,))):
            img = build_firmware(gen.out_dir, b, dsp=dsp_on, out_dir=root / f"fw-{b.name}-{tag}", defines=defines)
            texts[tag] = run_in_qemu(img.elf, b, timeout_s)
    where = f"{b.name} profiling firmware"
    plain = parse_output(texts["plain"], n_expected=1, where=f"{b.name} firmware")
    prof = parse_output(texts["profile"], n_expected=1, where=where)
    if len(plain.instructions) != 1:
        raise BuildError(f"{b.name}: the plain build printed no instruction count")
    if len(prof.instructions) != 1:
        raise BuildError(f"{b.name}: the profiling build printed no instruction count")
    raw = parse_profile(texts["profile"], len(graph.ops), where)[0]
    result = summarize(graph, raw, plain.instructions[0], prof.instructions[0])
    match = compare_outputs(graph, inputs, plain.outputs)["outputs_match"] and prof.outputs == plain.outputs
    if abs(result["unaccounted_instructions"]) > result["instrumentation_instructions"]:
        whole, miss = result["instructions_per_inference_plain"], result["unaccounted_instructions"]
        limit = result["instrumentation_instructions"]
        raise BuildError(f"{where}: per-op counts + copies miss the whole inference ({whole}) by {miss} "
                         f"instructions, more than the instrumentation adds ({limit})")
    return {"board": b.name, "dsp": dsp_on, "outputs_match": bool(match), **result}


def plot_op_profile(rows: list[dict], plan: Any, path: str | Path, title: str = "model") -> Path:
    """Two panels over the op index: instructions per op (bars coloured by kind) and the memory profile
    (tinycore.memory.plot.draw_memory_profile: what is alive at each op, the arena as a line)."""
    from tinycore.memory.plot import draw_memory_profile
    from tinycore.plots import new_figure, save_figure

    fig, (ax, mem) = new_figure(max(7.0, 0.3 * len(rows) + 3), 6.5, nrows=2)
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    colours = {k: f"C{i % 10}" for i, k in enumerate(kinds)}
    for k in kinds:
        sel = [r for r in rows if r["kind"] == k]
        ax.bar([r["index"] for r in sel], [r["instructions"] / 1e3 for r in sel], color=colours[k], label=k)
    total = sum(r["instructions"] for r in rows)
    ax.set_ylabel("instructions (thousands)")
    ax.set_title(f"{title}: instructions per op (sum {total:,})")
    ax.legend(fontsize=7)
    mem.sharex(ax)  # op k of both panels on one vertical
    draw_memory_profile(mem, plan)
    mem.set_title("memory per op (tinycore.memory plan)")
    return save_figure(fig, path)



def app_profile(graph: Graph, board: str, run_dir: str | Path, title: str) -> dict:
    """What an app's firmware step adds to report.json "firmware": per_op_instructions (the rows), per_op_profile
    (the rest of profile_on_board's result) and op_profile_png (drawn next to the memory profile, memory.png)."""
    from tinycore.memory import plan_graph

    run_dir = Path(run_dir)
    prof = profile_on_board(graph, board, keep_dir=run_dir / "firmware" / "profile")
    rows = prof.pop("per_op_instructions")
    png = plot_op_profile(rows, plan_graph(graph), run_dir / "op_profile.png", title)
    return {"per_op_instructions": rows, "per_op_profile": prof, "op_profile_png": str(png)}

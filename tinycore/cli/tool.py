"""`python -m tinycore analyze|generate|validate|convert|optimize`: the graph-level tool, in the spirit of vendor MCU
tools.

MODEL is a tinycore graph file or an int8 .tflite (`optimize` takes a float model: tinycore.optimize.cli). Results go to stdout (JSON with --json), progress and errors
to stderr; a user error exits 2 with one line, without a traceback (add --debug for one).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tinycore.cli.errors import run_command

EPILOG = """examples:
  python -m tinycore analyze model.graph            per-layer table: ops, shapes, MACs, params, Flash, arena
  python -m tinycore analyze model.tflite --json    the same as JSON (arena_bytes, flash_bytes, per_layer ...)
  python -m tinycore generate model.graph --out gen C99 library (model.c/.h, kernels) + host test program
  python -m tinycore validate model.graph --target host --n 50
                                                    build the C, run 50 random inputs, compare byte for byte
  python -m tinycore validate model.graph --target mps2-an386
                                                    the same inside an emulated Cortex-M4 (QEMU)
  python -m tinycore validate model.graph --target mps2-an386 --profile --json
                                                    also instructions per op (profiling build; "profile" key)
  python -m tinycore convert model.tflite model.graph   (and back: convert model.graph model.tflite)
  python -m tinycore analyze model.graph --patch 4x4 --input-mode stream --json
                                                    patch-based inference: arena with and without patches
  python -m tinycore optimize user.onnx --data images/ --board stm32f412 --max-drop 1.84
                                                    fit a trained float model to a board within an accuracy drop
"""


def _open(path: str):
    from tinycore.cli.model_file import open_model

    return open_model(path)


def analyze_report(graph, model_path: str) -> dict:
    """Everything `analyze` prints, as one JSON-able dict (also used by app reports)."""
    from tinycore.ir.stats import graph_macs, graph_params, op_macs, op_params
    from tinycore.memory import flash_bytes, flash_report, per_layer_rows, plan_graph

    plan = plan_graph(graph)
    flash = flash_report(graph)
    ops = [{"index": i, "name": op.name, "kind": op.kind, "output_shape": list(graph.tensors[op.outputs[0]].shape),
            "macs": op_macs(op, graph), "params": op_params(op, graph)} for i, op in enumerate(graph.ops)]
    peak = plan.peak_layer
    io = {kind: [{"name": n, "shape": list(graph.tensors[n].shape), "scale": graph.tensors[n].scale[0],
                  "zero_point": graph.tensors[n].zero_point} for n in names]
          for kind, names in (("inputs", graph.inputs), ("outputs", graph.outputs))}
    return {
        "model": str(model_path),
        "input": io["inputs"][0],  # the first; "inputs" / "outputs" list every one in graph order
        "output": io["outputs"][0],
        **io,
        "n_ops": len(graph.ops),
        "macs": graph_macs(graph),
        "params": graph_params(graph),
        "flash_bytes": flash_bytes(graph),
        "flash": {"weights_bytes": flash.weights_bytes, "bias_bytes": flash.bias_bytes,
                  "requant_bytes": flash.requant_bytes, "table_bytes": flash.table_bytes},
        "arena_bytes": plan.arena_bytes,
        "lower_bound_bytes": plan.lower_bound_bytes,
        "peak_op": None if peak is None else {"index": peak.index, "name": peak.name, "kind": peak.kind},
        "ops": ops,
        "per_layer": per_layer_rows(plan),
    }


def cmd_analyze(args) -> int:
    from tinycore.memory import format_memory_table, plan_graph, plot_memory_profile

    graph = _open(args.model)
    rep = analyze_report(graph, args.model)
    figures = None
    if args.patch:  # patch-based inference (tinycore.patch): arena_bytes becomes the patched arena
        from tinycore.patch.cli import patch_report

        figures = patch_report(graph, args.patch, args.input_mode, rep, plot=args.plot, title=Path(args.model).stem)
    elif args.plot:
        plot_memory_profile(plan_graph(graph), args.plot, Path(args.model).stem)
        rep["plot"] = str(args.plot)
    if args.json:
        print(json.dumps(rep, indent=1))
        return 0
    print(f"{args.model}: {rep['n_ops']} ops, {rep['macs']:,} MACs, {rep['params']:,} params")
    ins = "; ".join(f"input {t['shape']} scale {t['scale']:.6g} zp {t['zero_point']}" for t in rep["inputs"])
    print(f"{ins}; output {', '.join(str(t['shape']) for t in rep['outputs'])}")
    print(f"{'#':>3} {'op':<28} {'kind':<20} {'output':<18} {'MACs':>12} {'params':>9}")
    for o in rep["ops"]:
        print(f"{o['index']:>3} {o['name'][:28]:<28} {o['kind']:<20} {str(tuple(o['output_shape'])):<18} "
              f"{o['macs']:>12,} {o['params']:>9,}")
    print()
    print(format_memory_table(plan_graph(graph)))
    print(f"Flash (model constants): {rep['flash_bytes']:,} B  (weights {rep['flash']['weights_bytes']:,}, "
          f"bias {rep['flash']['bias_bytes']:,}, requant {rep['flash']['requant_bytes']:,}, "
          f"tables {rep['flash']['table_bytes']:,})")
    print(f"SRAM arena: {rep['arena_bytes']:,} B")
    if figures is not None:
        from tinycore.patch.cli import format_patch_summary

        print(format_patch_summary(rep))
    return 0


def cmd_generate(args) -> int:
    from tinycore.export import generate_c
    from tinycore.export.validate import random_inputs

    graph = _open(args.model)
    inputs = random_inputs(graph, args.n, args.seed)
    if args.patch:
        from tinycore.patch.cli import generate_patched

        gen, patch = generate_patched(graph, args.patch, args.input_mode, args.out, inputs)
        print(f"wrote {args.out}: patch-based C99 model ({patch}, input mode {args.input_mode}) + host test "
              f"program ({args.n} test inputs); arena {gen.arena_bytes:,} B")
        return 0
    gen = generate_c(graph, args.out, test_inputs=inputs)
    print(f"wrote {args.out}: C99 model library + host test program ({args.n} test inputs); "
          f"arena {gen.arena_bytes:,} B" if hasattr(gen, "arena_bytes") else f"wrote {args.out}")
    return 0


def cmd_validate(args) -> int:
    from tinycore.errors import UnsupportedError
    from tinycore.export.validate import validate

    graph = _open(args.model)
    if args.profile and (args.patch or args.target == "host"):
        raise UnsupportedError("--profile needs an emulated board (--target mps2-an385/an386/an500) and the "
                               "whole-graph schedule (no --patch)")
    if args.patch:
        from tinycore.patch.cli import validate_patched_cli

        result = validate_patched_cli(graph, args.patch, args.input_mode, args.target, args.n, args.seed)
    else:
        result = validate(graph, target=args.target, n=args.n, seed=args.seed)
    if args.profile:
        result["profile"] = _profile(graph, args)
    result = {"model": str(args.model), "target": args.target, **result}
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(result, indent=1))
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        verdict = "MATCH" if result["outputs_match"] else "MISMATCH"
        print(f"{verdict}: {result['n_checked']} inputs on {args.target}, max |diff| {result['max_abs_diff']}; "
              f"arena {result['arena_bytes']:,} B, flash {result['flash_bytes']:,} B")
        if len(result.get("per_output_match", ())) > 1:
            print("  outputs " + ", ".join(f"{name} {'match' if ok else 'MISMATCH'}"
                                           for name, ok in zip(graph.outputs, result["per_output_match"])))
        extra = {k: v for k, v in result.items() if k in ("text_bytes", "data_bytes", "bss_bytes",
                                                         "instructions_per_inference")}
        if extra:
            print("  " + ", ".join(f"{k} {v:,}" for k, v in extra.items()))
        if args.profile:
            _print_profile(result["profile"])
    if not result["outputs_match"] or (args.profile and not result["profile"]["outputs_match"]):
        from tinycore.errors import CheckError

        raise CheckError(f"{args.model}: outputs on {args.target} differ from the numpy runtime "
                         f"(max |diff| {result['max_abs_diff']} over {result['n_checked']} inputs"
                         f"{'; or in the profiling build' if args.profile else ''})")
    return 0


def _profile(graph, args) -> dict:
    """`validate --profile`: the per-op profile of an emulated board (tinycore.export.profile)."""
    from tinycore.export.profile import profile_on_board

    return profile_on_board(graph, args.target, seed=args.seed)


def _print_profile(prof: dict) -> None:
    print(f"  per-op profile on {prof['board']}: {prof['instructions_per_inference_plain']:,} instructions, "
          f"{prof['instructions_per_mac']} per MAC; counter reads cost {prof['timer_overhead_instructions']} "
          f"(subtracted); copies {prof['copy_instructions']:,}; unaccounted {prof['unaccounted_instructions']}")
    for r in prof["per_op_instructions"]:
        print(f"  {r['index']:>4} {r['kind']:<24} {r['name'][:28]:<28} {r['macs']:>10,} MACs "
              f"{r['instructions']:>12,} instr")


def cmd_convert(args) -> int:
    from tinycore.tflite import convert

    convert(args.input, args.output)
    print(f"wrote {args.output}")
    return 0


def _patch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--patch", metavar="PLAN", help="patch-based inference (MCUNetV2): NxM@opK (grid rows x columns, "
                   "the patch stage ends with op K), NxM (split searched) or auto (split and grid searched)")
    p.add_argument("--input-mode", choices=("frame", "stream"), default="frame",
                   help="with --patch: the whole input frame in the arena (frame) or only the rows a patch row "
                        "needs, pulled through tc_read_input_rows (stream)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tinycore", description=__doc__.split("\n")[0],
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="ops, shapes, MACs, params, Flash, SRAM arena, per-layer memory")
    a.add_argument("model", help="graph file or int8 .tflite")
    a.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    a.add_argument("--plot", metavar="PNG", help="also draw the per-layer memory profile to this PNG")
    a.set_defaults(fn=cmd_analyze)

    g = sub.add_parser("generate", help="write the C99 model library and a host test program")
    g.add_argument("model")
    g.add_argument("--out", required=True, metavar="DIR", help="output folder (must not exist or be empty)")
    g.add_argument("--n", type=int, default=4, help="random test inputs compiled into the test program")
    g.add_argument("--seed", type=int, default=0)
    g.set_defaults(fn=cmd_generate)

    v = sub.add_parser("validate", help="build and run the C code; compare every output byte with the runtime")
    v.add_argument("model")
    v.add_argument("--target", default="host",
                   help="host, or an emulated board: mps2-an385, mps2-an386, mps2-an500, mps3-an547")
    v.add_argument("--n", type=int, default=20, help="number of random int8 inputs")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--json", action="store_true", help="print the result as JSON")
    v.add_argument("--report", metavar="JSON", help="also write the result to this file")
    v.add_argument("--profile", action="store_true", help="also instructions per op from a profiling build "
                   "(-DTC_PROFILE) on the emulated --target")
    v.set_defaults(fn=cmd_validate)

    for sp in (a, g, v):
        _patch_options(sp)

    c = sub.add_parser("convert", help="convert between .tflite and the tinycore graph file")
    c.add_argument("input")
    c.add_argument("output")
    c.set_defaults(fn=cmd_convert)

    from tinycore.optimize.cli import add_parser

    add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(lambda: args.fn(args), args.debug)


if __name__ == "__main__":
    sys.exit(main())

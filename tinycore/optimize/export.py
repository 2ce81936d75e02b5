"""The chosen candidate out of an optimize run: our C library, int8 .tflite, float ONNX, and the firmware check on
the board's emulated core (every output byte equal to the numpy runtime). Returns report.json sections."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

DEFAULT_BOARD = "mps2-an386"


def export_onnx(model, input_shape: tuple[int, ...], path: Path) -> Path:
    """The float model (after QAT, before quantization) as ONNX, batch dimension dynamic."""
    import torch

    torch.onnx.export(model.eval(), torch.zeros(1, *input_shape), str(path), input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      dynamo=False)
    return path


def firmware_section(graph, board: str | None, n: int, seed: int, patch: str | None = None) -> dict[str, Any]:
    """validate_on_board (or validate_patched with the candidate's patch plan) on the board's emulated twin (the
    board itself when QEMU runs it)."""
    from tinycore.export.boards import get_board
    from tinycore.export.firmware import emulated_twin, validate_on_board

    target = get_board(board or DEFAULT_BOARD)
    twin = emulated_twin(target)
    if patch is None:
        r = validate_on_board(graph, board=twin.name, n=n, seed=seed)
    else:
        from tinycore.optimize.cost import INPUT_MODE
        from tinycore.optimize.pipeline import patch_plan
        from tinycore.patch.validate import validate_patched

        r = validate_patched(graph, patch_plan(patch), target=twin.name, n=n, seed=seed, input_mode=INPUT_MODE)
    keep = ("text_bytes", "data_bytes", "bss_bytes", "arena_symbol_bytes", "sram_total_bytes", "stack_bytes",
            "instructions_per_inference", "instructions_method", "cpu", "dsp")
    return {"board": target.name, "emulated_board": twin.name, "outputs_match_runtime": bool(r["outputs_match"]),
            "n_checked": r["n_checked"], "max_abs_diff": r["max_abs_diff"], **{k: r[k] for k in keep if k in r}}


def export_chosen(chosen: dict[str, Any], out: Path, cfg) -> dict[str, Any]:
    import torch

    from tinycore.export import generate_c
    from tinycore.export.validate import random_inputs
    from tinycore.ir import load_graph
    from tinycore.memory import flash_bytes, flash_report, per_layer_rows, plan_graph
    from tinycore.spec import build_model, model_stats, spec_from_json, spec_to_json
    from tinycore.tflite import export_tflite

    folder = Path(chosen["folder"])
    spec = spec_from_json((folder / "spec.json").read_text())
    graph = load_graph(folder / "model.graph")
    graph.save(out / "model.graph")
    (out / "spec.json").write_text(spec_to_json(spec))
    model = build_model(spec)
    model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
    c_dir = out / "c"
    if c_dir.exists():
        shutil.rmtree(c_dir)
    patch = None if chosen.get("patch", "none") == "none" else chosen["patch"]
    if patch is None:
        generate_c(graph, c_dir, test_inputs=random_inputs(graph, 2, cfg.seed))
    else:
        from tinycore.export.patch_codegen import generate_patch_c
        from tinycore.optimize.cost import INPUT_MODE
        from tinycore.optimize.pipeline import patch_plan
        from tinycore.patch.program import build_program

        generate_patch_c(graph, build_program(graph, patch_plan(patch), INPUT_MODE), c_dir,
                         test_inputs=random_inputs(graph, 2, cfg.seed))
    export_tflite(graph, out / "model.tflite")
    export_onnx(model, spec.input.shape(), out / "model.onnx")
    plan = plan_graph(graph)
    stats = model_stats(spec)
    memory = {"sram_peak_bytes": chosen["arena_bytes"], "flash_bytes": flash_bytes(graph),
              "weights_bytes": flash_report(graph).weights_bytes, "patch": chosen.get("patch", "none"),
              "sram_peak_bytes_no_patch": plan.arena_bytes, "per_layer": per_layer_rows(plan)}
    firmware = {**firmware_section(graph, cfg.board, cfg.firmware_inputs, cfg.seed, patch),
                "also": {b: firmware_section(graph, b, cfg.firmware_inputs, cfg.seed, patch) for b in cfg.also_boards}}
    if "sram_total_bytes" in firmware:  # measured in QEMU, beside the planned arena (as every app's report)
        memory["sram_total_bytes"] = firmware["sram_total_bytes"]
    return {
        "model": {"family": "optimized", "spec": spec.to_dict(), "params": stats["params"], "macs": stats["macs"],
                  "input_hw": list(spec.input.shape()[1:])},
        "memory": memory,
        "metrics": {"split": "test", "float": {"accuracy": chosen["float_accuracy"]},
                    "int8": {"accuracy": chosen["accuracy"]}},
        "firmware": firmware,
        "exports": {"graph": str(out / "model.graph"), "c": str(c_dir), "tflite": str(out / "model.tflite"),
                    "onnx": str(out / "model.onnx")},
    }

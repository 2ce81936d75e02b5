"""TASK.firmware for VWW: camera frames through the C image front end and the int8 model on an emulated board,
checked against Python byte for byte.

The image holds N test frames (seeded choice) in the sensor's format (RGB888 by default, or RGB565 as a camera
in that mode would deliver them); main.c (apps/vww/firmware) prints each frame's int8 model input and outputs.
Checks: frontend_match (firmware model input == tinycore.vision.frontend.preprocess of the same frame),
outputs_match_runtime (firmware outputs == tinycore.runtime.run on the firmware's own input) and
outputs_match_python (firmware outputs == the whole Python pipeline from the frame), every frame.
Instructions are counted around the front end and the model separately.

A run whose search chose a patch plan (report.json memory.patch_plan, tinycore.nas.joint) is built as that patch
program; in stream mode the model pulls frame rows through the front end (main.c VWW_STREAM), frames have the
model's input size, there is no whole model input to compare (frontend_match is not run: outputs_match_python
covers the front end) and the instruction count includes the front end.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from apps.vww.task import to_images
from tinycore.errors import BuildError, DataError, UnsupportedError
from tinycore.export.firmware_output import firmware_lines, hex_payload
from tinycore.report import RunDir
from tinycore.task import FirmwareRequest
from tinycore.vision.frontend import FORMAT_CODES, config_for_model, preprocess, rgb888_to_rgb565

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
FLASH_MARGIN_BYTES = 256 * 1024  # code, model and libc beside the frames
_HEAD = re.compile(r"^img (\d+) label (\d+) score (-?\d+) fe (\d+) model (\d+)$")


def parse_output(text: str, where: str) -> list[dict]:
    """One dict per frame: index, label, score, fe, model (instructions), feat and out (bytes). A `feat` line
    comes before its frame's `img` line (main.c prints the model input from the arena before the model runs);
    `out` follows it."""
    frames: list[dict] = []
    pending: dict[str, bytes] = {}
    for line in firmware_lines(text, where):
        if m := _HEAD.match(line):
            frames.append({"index": int(m[1]), "label": int(m[2]), "score": int(m[3]), "fe": int(m[4]),
                           "model": int(m[5]), **pending})
            pending = {}
        elif payload := hex_payload(line):
            if payload[0] == "feat":
                pending["feat"] = payload[1]
            elif frames:
                frames[-1][payload[0]] = payload[1]
    if pending:
        raise BuildError(f"{where}: a `feat` line after the last frame's `img` line (no model output follows it)")
    return frames


def pick_frames(req: FirmwareRequest, fmt: str) -> tuple[NDArray, NDArray[np.int64]]:
    """n_clips test images (seeded choice, in split order) as frames in `fmt`, with their true labels."""
    x, y = req.data.test
    if len(y) == 0:
        raise DataError("vww firmware: the test split is empty, so there is no frame to compile in")
    if req.n_clips < 1:
        raise UnsupportedError(f"--n {req.n_clips}: the firmware needs at least one test frame")
    pick = np.sort(np.random.default_rng(req.seed).choice(len(y), min(req.n_clips, len(y)), replace=False))
    rgb = to_images(x[pick])
    if fmt == "rgb888":
        return rgb, y[pick]
    if fmt == "rgb565":
        return rgb888_to_rgb565(rgb), y[pick]
    raise UnsupportedError(f"vww firmware frame format {fmt!r}: use rgb888 or rgb565")


def patch_program(req: FirmwareRequest, graph):
    """The patch program of the plan the run's export recorded (report.json memory.patch_plan), or None."""
    from tinycore.patch.plan import PatchPlan
    from tinycore.patch.program import build_program

    mem = RunDir(Path(req.run_dir)).load_report().get("memory", {})
    if not mem.get("patch_plan"):
        return None
    plan = PatchPlan(tuple(mem["patch_plan"]["splits"]), *mem["patch_plan"]["grid"])
    return build_program(graph, plan, mem.get("input_mode", "frame"))


def run_vww_firmware(req: FirmwareRequest, fmt: str = "rgb888", timeout_s: float = 300.0) -> dict:
    """Build, run and check the VWW firmware (module docstring); returns the report's "firmware" section."""
    from tinycore.export.app_firmware import build_app_firmware, image_section, measured_sram, run_app_firmware
    from tinycore.export.boards import get_board
    from tinycore.export.profile import app_profile
    from tinycore.export.qemu import mean_instructions
    from tinycore.ir import load_graph
    from tinycore.memory import flash_bytes
    from tinycore.runtime import run
    from tinycore.vision.cgen import write_vision_c

    board = get_board(req.board)
    graph = load_graph(req.graph_path)
    x_t = graph.input_tensor()
    program = patch_program(req, graph)
    stream = program is not None and program.input_mode == "stream"
    config = config_for_model(graph)  # features are pixels / 255: mean 0, std 1 (apps/vww/task.py)
    frames, true_labels = pick_frames(req, fmt)
    room = board.flash_bytes - flash_bytes(graph) - FLASH_MARGIN_BYTES
    if frames.nbytes > room:
        raise UnsupportedError(f"{board.name}: {len(frames)} frames ({frames.nbytes:,} B) do not fit the "
                               f"{max(room, 0):,} B of Flash left beside the model; use a smaller --n")
    req.log(f"vww firmware: Python pipeline on {len(frames)} {fmt} frames")
    py_in = np.stack([preprocess(f, fmt, config) for f in frames])
    py_out = np.stack([run(graph, v.reshape(x_t.shape)).reshape(-1) for v in py_in]).astype(np.int8)

    root = Path(req.run_dir) / "firmware"
    vision_dir = root / "vision"
    sources = write_vision_c(config, vision_dir)
    h, w = frames.shape[1:3]
    req.log(f"vww firmware: build for {board.name}")
    app = build_app_firmware(graph, board, root, main_c=FIRMWARE_DIR / "main.c", sources=sources,
                             include_dirs=[vision_dir], arrays={"vww_frames": frames.reshape(-1)},
                             defines={"VWW_N_FRAMES": len(frames), "VWW_FRAME_H": h, "VWW_FRAME_W": w,
                                      "VWW_FORMAT": FORMAT_CODES[fmt], **({"VWW_STREAM": 1} if stream else {})},
                             program=program)
    req.log(f"vww firmware: run {app.image.elf} in QEMU")
    stdout = run_app_firmware(app, timeout_s)
    out = parse_output(stdout, f"{board.name} {app.image.elf}")
    if len(out) != len(frames) or any(("feat" not in f and not stream) or "out" not in f for f in out):
        raise BuildError(f"{board.name}: firmware reported {len(out)} complete frames, expected {len(frames)}")
    fw_in = py_in.reshape(len(py_in), -1) if stream else np.stack([np.frombuffer(f["feat"], np.int8) for f in out])
    fw_out = np.stack([np.frombuffer(f["out"], np.int8) for f in out])
    runtime_out = np.stack([run(graph, v.reshape(x_t.shape)).reshape(-1) for v in fw_in]).astype(np.int8)
    fw_labels = [f["label"] for f in out]
    section = image_section(app)
    section.update(measured_sram(app, stdout))
    section.update(
        frame_format=fmt, frame_shape=list(frames.shape[1:]),
        patch="none" if program is None else str(program.plan),
        input_mode="whole" if program is None else program.input_mode,
        frontend_match=None if stream else bool(np.array_equal(fw_in, py_in.reshape(len(py_in), -1))),
        outputs_match_runtime=bool(np.array_equal(fw_out, runtime_out)),
        outputs_match_python=bool(np.array_equal(fw_out, py_out)),
        labels_match_python=fw_labels == [int(v[1] > v[0]) for v in py_out.astype(np.int32)],
        n_checked=len(out),
        instructions_per_inference=mean_instructions(sum(f["model"] for f in out), len(out)),
        frontend_instructions_per_frame=None if stream else mean_instructions(sum(f["fe"] for f in out), len(out)),
        instructions_method=("board counter around model_invoke_stream (the front end runs inside it, on the rows "
                             "each patch reads)" if stream else "board counter around tc_vision_preprocess and "
                             "model_invoke separately") + " (tinycore.export.firmware.METHOD)",
        frontend_ram_bytes=app.ram_bytes(["tc_vision.c"]), main_loop_ram_bytes=app.ram_bytes(["main.c"]),
        labels_firmware=fw_labels, labels_true=[int(v) for v in true_labels],
        accuracy_firmware=float(np.mean(np.array(fw_labels) == true_labels)),
    )
    req.log(f"vww firmware: per-op profile (profiling build) on {req.board}")
    # report fields per_op_instructions, per_op_profile; op_profile.png beside memory.png (issue #19)
    section.update(app_profile(graph, req.board, req.run_dir, f"vww {Path(req.graph_path).stem}"))
    return section

"""TASK.firmware for detection: camera frames streamed row by row through the C image front end into the patch-based
first stage, the rest of the int8 network, then decode + class-wise NMS in C, on an emulated board; the box list is
checked against Python's.

The image holds N test pictures (seeded choice) as RGB888 frames of the model's input size; main.c
(apps/detection/firmware) prints each frame's packed int8 outputs and its final boxes. Checks, every frame:
outputs_match_runtime (firmware outputs == tinycore.runtime.run on the Python front end's input of that frame)
and boxes_match_python (firmware rows == tinycore.vision.detect.detect_s8 of the runtime's outputs). The patch
plan is the one `export` chose (report.json memory.patch_plan), in stream mode.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from apps.detection.targets import LOG_SIZE
from tinycore.errors import BuildError, DataError, UnsupportedError
from tinycore.export.firmware_output import firmware_lines, hex_payload
from tinycore.report import RunDir
from tinycore.task import FirmwareRequest
from tinycore.vision.detect import DetectConfig, DetectParams, detect_s8, prepare

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
FLASH_MARGIN_BYTES = 256 * 1024  # code, model and libc beside the frames
MAX_FRAMES = 8  # 230 KB per 320x240 RGB888 frame: eight fill half of a 4 MB Flash; QEMU time stays in minutes
_HEAD = re.compile(r"^img (\d+) model (\d+) decode (\d+) boxes (\d+)$")


def parse_output(text: str, where: str) -> list[dict]:
    """One dict per frame: index, model and decode (instructions), out (bytes), boxes (rows)."""
    frames: list[dict] = []
    for line in firmware_lines(text, where):
        if m := _HEAD.match(line):
            frames.append({"index": int(m[1]), "model": int(m[2]), "decode": int(m[3]), "n": int(m[4]),
                           "boxes": []})
        elif line.startswith("box ") and frames:
            frames[-1]["boxes"].append([int(v) for v in line.split()[1:]])
        elif (payload := hex_payload(line)) and frames:
            frames[-1][payload[0]] = payload[1]
    return frames


def pick_frames(req: FirmwareRequest, n_max: int) -> np.ndarray:
    """Up to n_max test pictures (seeded choice, in split order) as (N, H, W, 3) uint8 RGB888 frames."""
    x = req.data.test[0]
    if len(x) == 0:
        raise DataError("detection firmware: the test split is empty, so there is no frame to compile in")
    if req.n_clips < 1:
        raise UnsupportedError(f"--n {req.n_clips}: the firmware needs at least one test frame")
    pick = np.sort(np.random.default_rng(req.seed).choice(len(x), min(req.n_clips, n_max, len(x)), replace=False))
    return np.round(x[pick].transpose(0, 2, 3, 1) * 255).astype(np.uint8)  # features are pixels / 255 exactly


def detect_params(graph, stride: int, score_threshold: float = DetectConfig.score_threshold) -> DetectParams:
    """The device's decode settings (DetectConfig defaults: score 0.3, IoU 0.5) for this graph's two outputs."""
    heat, box = graph.output_tensor(0), graph.output_tensor(1)
    _, h, w, _ = graph.input_tensor().shape
    config = DetectConfig(stride=stride, img_h=int(h), img_w=int(w), score_threshold=score_threshold,
                          log_size=LOG_SIZE)
    return prepare(config, tuple(heat.shape), (float(heat.scale[0]), int(heat.zero_point)),
                   (float(box.scale[0]), int(box.zero_point)))


def run_detection_firmware(req: FirmwareRequest, timeout_s: float = 900.0,
                           score_threshold: float = DetectConfig.score_threshold) -> dict:
    """Build, run and check the detection firmware (module docstring); returns the report's "firmware" section.
    score_threshold: the decoder's, on the heat probability (tests lower it so an untrained head gives boxes)."""
    from tinycore.export.app_firmware import build_app_firmware, image_section, measured_sram, run_app_firmware
    from tinycore.export.boards import get_board
    from tinycore.export.qemu import mean_instructions
    from tinycore.ir import load_graph
    from tinycore.memory import flash_bytes
    from tinycore.patch.plan import PatchPlan
    from tinycore.patch.program import build_program
    from tinycore.runtime import run
    from tinycore.vision.cgen import detect_params_c, write_detect_c, write_vision_c
    from tinycore.vision.frontend import config_for_model, preprocess

    board = get_board(req.board)
    graph = load_graph(req.graph_path)
    x_t = graph.input_tensor()
    run_dir = RunDir(Path(req.run_dir))
    mem = run_dir.load_report().get("memory", {})
    if not mem.get("patch_plan"):
        raise BuildError(f"{run_dir.report_path}: memory.patch_plan is missing; run `export` first")
    plan = PatchPlan(tuple(mem["patch_plan"]["splits"]), *mem["patch_plan"]["grid"])
    program = build_program(graph, plan, "stream")
    frame_bytes = int(np.prod(x_t.shape))
    room = board.flash_bytes - flash_bytes(graph) - FLASH_MARGIN_BYTES
    frames = pick_frames(req, max(min(MAX_FRAMES, room // frame_bytes), 1))
    if frames.nbytes > room:
        raise UnsupportedError(f"{board.name}: one {frame_bytes:,} B frame does not fit the {max(room, 0):,} B of "
                               f"Flash left beside the model")
    params = detect_params(graph, int(graph.meta.get("detection", {}).get("stride", 8)), score_threshold)
    config = config_for_model(graph)  # features are pixels / 255 (apps/detection/task.py)
    req.log(f"detection firmware: Python pipeline on {len(frames)} frames")
    py_in = [preprocess(f, "rgb888", config).reshape(x_t.shape) for f in frames]
    py_out = [run(graph, v) for v in py_in]
    py_rows = [detect_s8(o[0], o[1], params) for o in py_out]
    py_packed = np.stack([np.concatenate([o[0].reshape(-1), o[1].reshape(-1)]) for o in py_out]).astype(np.int8)

    root = Path(req.run_dir) / "firmware"
    vision_dir, det_dir = root / "vision", root / "detect"
    sources = [*write_vision_c(config, vision_dir), *write_detect_c(det_dir)]
    det_dir.mkdir(parents=True, exist_ok=True)
    (det_dir / "det_params.c").write_text('#include "tc_detect.h"\n\n' + detect_params_c(params))
    sources.append(det_dir / "det_params.c")
    h, w = frames.shape[1:3]
    req.log(f"detection firmware: build for {board.name} (patches {plan}, stream mode)")
    app = build_app_firmware(graph, board, root, main_c=FIRMWARE_DIR / "main.c", sources=sources,
                             include_dirs=[vision_dir, det_dir], arrays={"det_frames": frames.reshape(-1)},
                             defines={"DET_N_FRAMES": len(frames), "DET_FRAME_H": h, "DET_FRAME_W": w,
                                      "DET_MAX_CANDIDATES": params.max_candidates,
                                      "DET_MAX_DETECTIONS": params.max_detections},
                             program=program)
    req.log(f"detection firmware: run {app.image.elf} in QEMU")
    stdout = run_app_firmware(app, timeout_s)
    out = parse_output(stdout, f"{board.name} {app.image.elf}")
    if len(out) != len(frames) or any("out" not in f or len(f["boxes"]) != f["n"] for f in out):
        raise BuildError(f"{board.name}: firmware reported {len(out)} complete frames, expected {len(frames)}")
    fw_out = np.stack([np.frombuffer(f["out"], np.int8) for f in out])
    section = image_section(app)
    section.update(measured_sram(app, stdout))
    section.update(
        frame_format="rgb888", frame_shape=list(frames.shape[1:]), patch=str(plan), input_mode="stream",
        outputs_match_runtime=bool(np.array_equal(fw_out, py_packed)),
        boxes_match_python=all(np.array_equal(np.array(f["boxes"], np.int32).reshape(-1, 7), r)
                               for f, r in zip(out, py_rows)),
        n_checked=len(out), n_boxes=[len(f["boxes"]) for f in out],
        instructions_per_inference=mean_instructions(sum(f["model"] for f in out), len(out)),
        decode_instructions_per_frame=mean_instructions(sum(f["decode"] for f in out), len(out)),
        instructions_method="board counter around model_invoke_stream (the front end runs inside it, on the rows "
                            "each patch reads) and around tc_detect_s8 (tinycore.export.firmware.METHOD)",
        frontend_ram_bytes=app.ram_bytes(["tc_vision.c"]), main_loop_ram_bytes=app.ram_bytes(["main.c"]),
        decode_settings={"score_threshold": score_threshold, "iou_threshold": DetectConfig.iou_threshold,
                         "max_candidates": params.max_candidates, "max_detections": params.max_detections},
    )
    return section

"""TASK.firmware for KWS: the C front end, the int8 model and the streaming loop on an emulated board, checked
against the Python pipeline.

The image (tinycore.export.app_firmware) holds N test clips and one stream of a few seconds as int16 PCM; main.c
(apps/kws/firmware) prints each window's int8 features and outputs and the stream's detections. Checks:
(a) feature_mismatch_values: firmware features != Python's (torch front end + quantize_float_s8), counted;
    float front ends may differ at a rounding boundary, so this is a number, not a pass/fail;
(b) outputs_match_runtime (strict): firmware outputs == tinycore.runtime.run on the firmware's own features, byte
    for byte, every clip and every stream window;
(c) labels_match_python: firmware argmax == the Python pipeline's, every clip;
(d) stream_detections_match: firmware detections == apps.kws.stream.stream_int8 on the same audio; and
    stream_logic_match (strict): == apps.kws.stream.detect on the firmware's own logits.
Clips that do not fit one image's Flash are split over several images (the stream goes in the last one).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from apps.kws.frontend import KWS_FRONTEND, frontend_of
from apps.kws.stream import (BACKGROUND_LABELS, StreamConfig, detect, detection_tuples, exp_table_q16,
                             int8_windows, posteriors_q15, stream_int8, window_starts)
from tinycore.audio.pcm import from_pcm16, pcm16
from tinycore.errors import BuildError, DataError, UnsupportedError
from tinycore.export.firmware_output import firmware_lines, hex_payload
from tinycore.task import FirmwareRequest

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
C_SOURCES = ("kws_features.c", "kws_stream.c")
STREAM_KEYWORDS = 4  # keyword clips in the test stream
STREAM_GAP_S = (0.3, 0.8)  # noise between them, uniform
STREAM_NOISE_DBFS = -45.0
FLASH_MARGIN_BYTES = 256 * 1024  # code, model and libc beside the test audio


@dataclass
class FirmwareOutput:
    """What main.c printed, parsed: per clip and per stream window."""
    clips: list[dict] = field(default_factory=list)  # label, fe, model, feat (bytes), out (bytes)
    windows: list[dict] = field(default_factory=list)  # the same + start
    detections: list[tuple[int, int, int]] = field(default_factory=list)  # class, time_ms, Q15 sum
    done: bool = False


_HEAD = re.compile(r"^(clip|win) (\d+)(?: start (\d+))? label (\d+) fe (\d+) model (\d+)$")


def parse_firmware_output(text: str, where: str) -> FirmwareOutput:
    out = FirmwareOutput(done=True)  # firmware_lines raises unless the firmware printed `done`
    current: dict | None = None
    for line in firmware_lines(text, where):
        if m := _HEAD.match(line):
            current = {"index": int(m[2]), "start": int(m[3] or 0), "label": int(m[4]), "fe": int(m[5]),
                       "model": int(m[6])}
            (out.clips if m[1] == "clip" else out.windows).append(current)
        elif (payload := hex_payload(line)) and current is not None:
            current[payload[0]] = payload[1]
        elif line.startswith("det "):
            out.detections.append(tuple(int(v) for v in line.split()[1:4]))  # type: ignore[arg-type]
    return out


def pick_clips(req: FirmwareRequest) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """n_clips test clips (seeded choice, in manifest order) as float waveforms, with their true labels."""
    manifest = req.data.extra.get("manifest")
    if manifest is None:
        raise DataError("kws firmware: the task data carry no clip manifest, so there is no test audio to compile in")
    records = manifest.split("test")
    if not records:
        raise DataError(f"{manifest.root}: no test clips for the firmware")
    if req.n_clips < 1:
        raise UnsupportedError(f"--n {req.n_clips}: the firmware needs at least one test clip")
    pick = np.sort(np.random.default_rng(req.seed).choice(len(records), min(req.n_clips, len(records)),
                                                          replace=False))
    fe = KWS_FRONTEND
    waves = np.stack([manifest.read_clip(records[i], fe.sample_rate_hz, fe.clip_samples) for i in pick])
    return waves, manifest.labels([records[i] for i in pick])


def make_stream(waves: NDArray, labels: NDArray, classes: list[str], seed: int) -> tuple[NDArray[np.float32], list]:
    """A few seconds of audio: keyword clips (up to STREAM_KEYWORDS) with white noise before, between and after.

    Returns the audio and [(label, start_ms)] of the clips placed in it.
    """
    rng = np.random.default_rng(seed + 1)
    sr = KWS_FRONTEND.sample_rate_hz
    keys = [i for i in range(len(waves)) if classes[labels[i]] not in BACKGROUND_LABELS] or list(range(len(waves)))
    keys = keys[:STREAM_KEYWORDS]
    noise_amp = 10 ** (STREAM_NOISE_DBFS / 20)
    parts, placed, pos = [], [], 0
    for i in keys:
        gap = int(rng.uniform(*STREAM_GAP_S) * sr)
        parts += [rng.standard_normal(gap) * noise_amp, waves[i]]
        placed.append((classes[labels[i]], (pos + gap) * 1000 // sr))
        pos += gap + len(waves[i])
    parts.append(rng.standard_normal(int(STREAM_GAP_S[1] * sr)) * noise_amp)
    return np.clip(np.concatenate(parts), -1, 32767 / 32768).astype(np.float32), placed


def _defines(n_clips: int, n_classes: int, background_mask: int, cfg: StreamConfig, stream: bool) -> dict:
    return {"KWS_N_CLIPS": n_clips, "KWS_N_CLASSES": n_classes, "KWS_WINDOW_SAMPLES": cfg.window_samples,
            "KWS_HOP_SAMPLES": cfg.hop_samples, "KWS_SAMPLE_RATE_HZ": cfg.sample_rate_hz,
            "KWS_AVERAGE_WINDOWS": cfg.average_windows, "KWS_THRESHOLD_Q15": cfg.threshold_q15,
            "KWS_SUPPRESSION_MS": cfg.suppression_ms, "KWS_BACKGROUND_MASK": f"0x{background_mask:08x}u",
            "KWS_HAS_STREAM": int(stream)}


def clips_per_image(board, graph, stream_bytes: int, clip_bytes: int) -> int:
    """How many int16 clips fit one image's Flash beside the model constants, the stream and FLASH_MARGIN."""
    from tinycore.memory import flash_bytes

    room = board.flash_bytes - flash_bytes(graph) - stream_bytes - FLASH_MARGIN_BYTES
    if room < clip_bytes:
        raise UnsupportedError(f"{board.name}: {board.flash_bytes:,} B of Flash leave no room for a "
                               f"{clip_bytes:,} B test clip beside the model and the stream")
    return room // clip_bytes


def run_kws_firmware(req: FirmwareRequest, stream_config: StreamConfig | None = None,
                     timeout_s: float = 300.0) -> dict:
    """Build, run and check the KWS firmware (module docstring); returns the report's "firmware" section."""
    from tinycore.audio.cgen import write_frontend_c
    from tinycore.export.app_firmware import build_app_firmware, image_section, measured_sram, run_app_firmware
    from tinycore.export.boards import get_board
    from tinycore.export.qemu import mean_instructions
    from tinycore.export.profile import app_profile
    from tinycore.ir import load_graph
    from tinycore.runtime import run

    fe = frontend_of(req.data.dataset)  # the C front end the model's features need (--frontend)
    cfg = stream_config or StreamConfig(window_samples=fe.clip_samples, sample_rate_hz=fe.sample_rate_hz)
    if cfg.window_samples != fe.clip_samples or cfg.sample_rate_hz != fe.sample_rate_hz:
        raise UnsupportedError(f"stream window {cfg.window_samples} samples at {cfg.sample_rate_hz} Hz must be the "
                               f"front end's clip ({fe.clip_samples} at {fe.sample_rate_hz} Hz)")
    board = get_board(req.board)
    graph = load_graph(req.graph_path)
    classes = list(graph.meta.get("classes") or req.data.classes)
    x, y = graph.input_tensor(), graph.output_tensor()
    if y.size != len(classes):
        raise UnsupportedError(f"{req.graph_path}: output '{y.name}' has {y.size} values for {len(classes)} classes")
    background_mask = sum(1 << i for i, c in enumerate(classes) if c in BACKGROUND_LABELS)

    waves, true_labels = pick_clips(req)
    clip_pcm = pcm16(waves)
    stream_audio, placed = make_stream(waves, true_labels, classes, req.seed)
    stream_pcm = pcm16(stream_audio)
    req.log(f"kws firmware: Python pipeline on {len(clip_pcm)} clips and a {len(stream_pcm) / fe.sample_rate_hz:.1f}"
              f" s stream")
    py_feats, py_logits = int8_windows(graph, fe, from_pcm16(clip_pcm))
    py_stream = stream_int8(graph, fe, from_pcm16(stream_pcm), cfg)

    per_image = clips_per_image(board, graph, stream_pcm.nbytes, clip_pcm[0].nbytes)
    batches = [list(range(i, min(i + per_image, len(clip_pcm)))) for i in range(0, len(clip_pcm), per_image)]
    root = Path(req.run_dir) / "firmware"
    fe_dir = root / "frontend"
    fe_sources = write_frontend_c(fe, fe_dir)
    table = exp_table_q16(float(y.scale[0]))
    parsed, apps, stdouts = [], [], []
    for k, batch in enumerate(batches):
        last = k == len(batches) - 1
        arrays = {"kws_clips": clip_pcm[batch].reshape(-1), "kws_exp_q16": table}
        if last:
            arrays["kws_stream_pcm"] = stream_pcm
        req.log(f"kws firmware: build image {k + 1}/{len(batches)} for {board.name} ({len(batch)} clips"
                  f"{' + stream' if last else ''})")
        app = build_app_firmware(
            graph, board, root if len(batches) == 1 else root / f"image{k}", main_c=FIRMWARE_DIR / "main.c",
            sources=[*fe_sources, *(FIRMWARE_DIR / s for s in C_SOURCES)], include_dirs=[fe_dir, FIRMWARE_DIR],
            arrays=arrays, defines=_defines(len(batch), len(classes), background_mask, cfg, last))
        req.log(f"kws firmware: run {app.image.elf} in QEMU")
        stdouts.append(run_app_firmware(app, timeout_s))
        parsed.append(parse_firmware_output(stdouts[-1], f"{board.name} {app.image.elf}"))
        apps.append(app)
    clips = [c for p in parsed for c in p.clips]
    windows, fw_dets = parsed[-1].windows, parsed[-1].detections
    if len(clips) != len(clip_pcm) or len(windows) != len(py_stream["starts"]):
        raise BuildError(f"{board.name}: firmware ran {len(clips)} clips and {len(windows)} stream windows, expected "
                         f"{len(clip_pcm)} and {len(py_stream['starts'])}")

    fw_feats = np.array([np.frombuffer(c["feat"], np.int8) for c in clips + windows])
    fw_outs = np.array([np.frombuffer(c["out"], np.int8) for c in clips + windows])
    ref_feats = np.concatenate([py_feats, py_stream["features"]])
    runtime_outs = np.stack([run(graph, f.reshape(x.shape)).reshape(-1) for f in fw_feats]).astype(np.int8)
    fw_labels = [c["label"] for c in clips]
    py_labels = [int(v) for v in np.argmax(py_logits, axis=1)]
    fw_post = posteriors_q15(fw_outs[len(clips):], table)
    fw_logic = detect(fw_post, classes, window_starts(len(stream_pcm), cfg), cfg, integer=True)
    fw_det_pairs = [(c, t) for c, t, _ in fw_dets]
    main_app = apps[-1]
    section = image_section(main_app)
    section.update(measured_sram(main_app, stdouts))  # the deepest stack of every image; the main image's .bss
    section.update(
        outputs_match_runtime=bool(np.array_equal(fw_outs, runtime_outs)),
        outputs_mismatch_windows=int(np.count_nonzero((fw_outs != runtime_outs).any(axis=1))),
        labels_match_python=fw_labels == py_labels,
        stream_detections_match=fw_det_pairs == detection_tuples(py_stream["detections"]),
        stream_logic_match=fw_det_pairs == detection_tuples(fw_logic),
        feature_mismatch_values=int(np.count_nonzero(fw_feats != ref_feats)),
        feature_values_checked=int(fw_feats.size),
        n_checked=len(clips), n_stream_windows=len(windows), n_images=len(apps),
        instructions_per_inference=mean_instructions(sum(c["model"] for c in clips), len(clips)),
        frontend_instructions_per_clip=mean_instructions(sum(c["fe"] for c in clips), len(clips)),
        instructions_method="board counter around kws_features_s16 and model_invoke separately "
                            "(tinycore.export.firmware.METHOD)",
        frontend_ram_bytes=main_app.ram_bytes(["tc_frontend.c", "tc_frontend_tables.c", "kws_features.c"]),
        main_loop_ram_bytes=main_app.ram_bytes(["main.c", "kws_stream.c"]),
        labels_firmware=fw_labels, labels_python=py_labels, labels_true=[int(v) for v in true_labels],
        accuracy_firmware=float(np.mean(np.array(fw_labels) == true_labels)),
        stream={"config": cfg.to_dict(), "seconds": len(stream_pcm) / fe.sample_rate_hz,
                "keywords_placed": [{"label": lab, "start_ms": ms} for lab, ms in placed],
                "detections_firmware": [{"label": classes[c], "time_ms": t, "score": s / (cfg.average_windows * 32768)}
                                        for c, t, s in fw_dets],
                "detections_python": [{"label": d.label, "time_ms": d.time_ms} for d in py_stream["detections"]]},
    )
    req.log(f"kws firmware: per-op profile (profiling build) on {req.board}")
    # report fields per_op_instructions, per_op_profile; op_profile.png beside memory.png
    section.update(app_profile(graph, req.board, req.run_dir, f"kws {Path(req.graph_path).stem}"))
    return section

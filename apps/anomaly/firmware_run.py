"""TASK.firmware for the anomaly app: C front end + int8 autoencoder + clip score + alarm on an emulated board.

10 s clips are 320 KB of int16 each, so the image holds at most MAX_CLIPS test clips of one machine (half normal,
half anomalous when the split allows), each holding the samples of its frame window (the whole clip; ToyCar:
frames 50..249); the firmware scores every STRIDE-th vector of the window, as Python does. The firmware
score is computed from the int8 vectors it ran: mean over scored vectors of mean((deq(in) - deq(out))**2), in
double; the alarm threshold is the same score's (1 - FALSE_ALARM_RATE) quantile on the normal validation clips
(numpy runtime) of the machine whose clips run (its own threshold, as `eval` sets one per machine ID). Checks:
  outputs_match_runtime (strict): firmware int8 outputs == tinycore.runtime.run on the firmware's own int8
      features, byte for byte, every scored vector of every clip;
  score_max_abs_diff: |firmware score - the score Python computes (float64) from the firmware's bytes| (<= 1e-6);
  feature_mismatch_values: firmware int8 features != Python's (torch front end + quantize_float_s8), counted;
      features_within_tolerance (strict): each of those is a one-step flip of a value within the front ends'
      float tolerance of a rounding edge (tinycore.audio.compare: why C and torch cannot agree exactly);
  alarms_match_python: firmware alarms == the Python pipeline's (torch features, numpy runtime) on the same clips.
"""
from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from apps.anomaly.features import STRIDE, window_vectors
from apps.anomaly.frontend import ANOMALY_FRONTEND, frame_window
from apps.anomaly.idnn import CENTRE, CENTRE_SLICE, N_MELS, BinStats
from apps.anomaly.scoring import FALSE_ALARM_RATE, threshold_at
from tinycore.audio.compare import feature_flips
from tinycore.audio.pcm import pcm16
from tinycore.errors import BuildError, DataError, UnsupportedError
from tinycore.export.firmware_output import firmware_lines, hex_payload
from tinycore.task import FirmwareRequest

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
MAX_CLIPS = 4
SCORE_TOLERANCE = 1e-6


def window_samples(window: tuple[int, int]) -> tuple[int, int]:
    """Samples [first, last) that frames [window) read."""
    fe = ANOMALY_FRONTEND
    return window[0] * fe.hop_samples, (window[1] - 1) * fe.hop_samples + fe.frame_samples

_CLIP = re.compile(r"^clip (\d+) fe (\d+)$")
_SCORE = re.compile(r"^score (\d+) model (\d+) vectors (\d+) alarm ([01]) bits ([0-9a-f]{16})$")


def parse_output(text: str, where: str) -> list[dict]:
    """[{fe, model, alarm, score, feat: [bytes], out: [bytes]}] per clip, from main.c's lines."""
    clips: list[dict] = []
    for line in firmware_lines(text, where):
        if m := _CLIP.match(line):
            clips.append({"fe": int(m[2]), "feat": [], "out": []})
        elif (payload := hex_payload(line)) and clips:
            clips[-1][payload[0]].append(payload[1])
        elif m := _SCORE.match(line):
            clips[-1].update(model=int(m[2]), vectors=int(m[3]), alarm=int(m[4]),
                             score=struct.unpack(">d", bytes.fromhex(m[5]))[0])
    return clips


def int8_score(feat: NDArray[np.int8], out: NDArray[np.int8], graph, stats: BinStats | None = None) -> float:
    """The firmware's clip score from its int8 vectors (V, 640) and outputs, in float64: against the input
    (autoencoder, stats None) or against the standardised centre frame of the input (IDNN, per-bin stats)."""
    x, y = graph.input_tensor(), graph.output_tensor()
    target = float(x.scale[0]) * (feat.astype(np.float64) - x.zero_point)
    if stats is not None:
        target = (target[:, CENTRE_SLICE] - stats.mean.astype(np.float64)) * stats.inv_sd.astype(np.float64)
    d = target - float(y.scale[0]) * (out.astype(np.float64) - y.zero_point)
    return float(np.mean(np.mean(d * d, axis=1)))


def python_clip(graph, logmel: NDArray[np.float32], window: tuple[int, int], n_frames: int,
                stats: BinStats | None = None) -> tuple[NDArray[np.int8], NDArray[np.int8], float]:
    """Python pipeline on one clip's (311, 128) log-mel: int8 features, runtime outputs, score."""
    from tinycore.runtime import quantize_float_s8, run

    x = graph.input_tensor()
    q = quantize_float_s8(window_vectors(logmel, window, n_frames), float(x.scale[0]), int(x.zero_point))
    out = np.stack([run(graph, v.reshape(x.shape)).reshape(-1) for v in q]).astype(np.int8)
    return q, out, int8_score(q, out, graph, stats)


def threshold_clips(val: dict, machines: list[str]) -> NDArray[np.int64]:
    """The validation clips the firmware's alarm threshold is set on: the normal ones of the machines whose clips
    it runs (one sensor, one machine: its own threshold, as `eval` sets per machine ID); the model's normal ones
    when those machines have none."""
    normal = val["labels"] == 0
    own = normal & np.array([g in machines for g in val["groups"]], bool)
    if not normal.any():
        raise DataError("anomaly firmware: no normal validation clips to set the alarm threshold on")
    return np.flatnonzero(own if own.any() else normal)


def pick_clips(req: FirmwareRequest, window: tuple[int, int]) -> list[int]:
    """Indices into the test split: up to MAX_CLIPS clips that fill the frame window, alternating anomalous and
    normal, seeded."""
    info = req.data.extra["clips"]["test"]
    if req.n_clips < 1:
        raise UnsupportedError(f"--n {req.n_clips}: the firmware needs at least one test clip")
    full = info["frames"] >= window[1]
    if not full.any():
        raise DataError(f"anomaly firmware: no test clip holds all frames {window[0]}..{window[1] - 1}")
    rng = np.random.default_rng(req.seed)
    pools = [list(rng.permutation(np.flatnonzero((info["labels"] == lab) & full))) for lab in (1, 0)]
    n = min(req.n_clips, MAX_CLIPS, int(full.sum()))
    picked: list[int] = []
    while len(picked) < n:
        for pool in pools:
            if pool and len(picked) < n:
                picked.append(int(pool.pop(0)))
    return sorted(picked)


def run_firmware(req: FirmwareRequest, timeout_s: float = 600.0) -> dict:
    """Build, run and check the anomaly firmware (module docstring); returns the report's "firmware" section."""
    from tinycore.audio.cgen import write_frontend_c
    from tinycore.export.app_firmware import build_app_firmware, image_section, measured_sram, run_app_firmware
    from tinycore.export.qemu import mean_instructions
    from tinycore.export.profile import app_profile
    from tinycore.ir import load_graph

    graph = load_graph(req.graph_path)
    manifest = req.data.extra.get("manifest")
    if manifest is None:
        raise DataError("anomaly firmware: the task data carry no clip manifest, so there is no test audio")
    info = req.data.extra["clips"]["test"]
    types = sorted({g.split("/")[0] for g in info["groups"]})
    if len({frame_window(t) for t in types}) != 1:
        raise UnsupportedError(f"anomaly firmware: machine types {types} use different frame windows; choose one "
                               "machine with --machine")
    window = frame_window(types[0])
    idnn = graph.output_tensor().shape[-1] == N_MELS  # the centre frame (apps.anomaly.idnn), else the whole vector
    stats = BinStats.load(req.run_dir) if idnn else None
    crop = window_samples(window)
    picked = pick_clips(req, window)
    fe = ANOMALY_FRONTEND
    pcm = []
    for i in picked:
        from apps.anomaly.features import read_clips

        rec = next(r for r in manifest.split("test") if r.path == info["paths"][i])
        wave, _, _ = read_clips(manifest, [rec], progress=False)
        pcm.append(pcm16(wave[0][crop[0]:crop[1]]))
    req.log(f"anomaly firmware: Python pipeline on {len(picked)} clips")
    val = req.data.extra["clips"]["val"]
    normal = threshold_clips(val, sorted({info["groups"][i] for i in picked}))
    val_lm = req.data.extra["logmel"]["val"]
    val_scores = np.array([python_clip(graph, val_lm[i], frame_window(val["groups"][i].split("/")[0]),
                                       int(val["frames"][i]), stats)[2] for i in normal])
    threshold = float(np.float32(threshold_at(val_scores, FALSE_ALARM_RATE)))
    test_lm = req.data.extra["logmel"]["test"]
    py = [python_clip(graph, test_lm[i], window, int(info["frames"][i]), stats) for i in picked]

    root = Path(req.run_dir) / "firmware"
    fe_dir = root / "frontend"
    fe_sources = write_frontend_c(fe, fe_dir)
    n_frames = window[1] - window[0]
    defines = {"AN_N_CLIPS": len(picked), "AN_FRAMES": n_frames,
               "AN_VECTORS": n_frames - fe.frames_stacked + 1, "AN_VECTOR_STRIDE": STRIDE,
               "AN_THRESHOLD_BITS": f"0x{struct.unpack('<I', struct.pack('<f', threshold))[0]:08x}u"}
    arrays = {"an_clips": np.concatenate(pcm)}
    if stats is not None:  # the IDNN's target: the centre frame standardised with these float32 bit patterns
        defines.update(AN_IDNN=1, AN_TARGET_OFFSET=CENTRE * N_MELS)
        arrays.update(an_mean_bits=stats.mean.view(np.uint32), an_inv_sd_bits=stats.inv_sd.view(np.uint32))
    req.log(f"anomaly firmware: build for {req.board}")
    app = build_app_firmware(graph, req.board, root, main_c=FIRMWARE_DIR / "main.c", sources=fe_sources,
                             include_dirs=[fe_dir], arrays=arrays, defines=defines)
    req.log(f"anomaly firmware: run {app.image.elf} in QEMU")
    stdout = run_app_firmware(app, timeout_s)
    clips = parse_output(stdout, f"{req.board} {app.image.elf}")
    if len(clips) != len(picked):
        raise BuildError(f"{req.board}: firmware ran {len(clips)} clips, expected {len(picked)}")
    x = graph.input_tensor()
    from tinycore.runtime import run

    match, fw_feats, py_floats, score_diff, rows = True, [], [], 0.0, []
    for k, (c, (py_q, _py_out, py_score)) in enumerate(zip(clips, py)):
        feat = np.array([np.frombuffer(b, np.int8) for b in c["feat"]])
        out = np.array([np.frombuffer(b, np.int8) for b in c["out"]])
        ref = np.stack([run(graph, v.reshape(x.shape)).reshape(-1) for v in feat]).astype(np.int8)
        match &= bool(np.array_equal(out, ref))
        fw_feats.append(feat.reshape(-1))
        py_floats.append(window_vectors(test_lm[picked[k]], window, int(info["frames"][picked[k]])).reshape(-1))
        score_diff = max(score_diff, abs(c["score"] - int8_score(feat, out, graph, stats)))
        rows.append({"file": info["paths"][picked[k]], "label": int(info["labels"][picked[k]]),
                     "score_firmware": c["score"], "score_python": py_score, "alarm_firmware": c["alarm"],
                     "alarm_python": int(py_score > threshold)})
    section = image_section(app)
    section.update(measured_sram(app, stdout))
    section.update(
        outputs_match_runtime=match, n_checked=len(picked), vectors_per_clip=len(clips[0]["out"]),
        score_max_abs_diff=score_diff, scores_match=bool(score_diff <= SCORE_TOLERANCE),
        score_tolerance=SCORE_TOLERANCE,
        **feature_flips(np.concatenate(fw_feats), np.concatenate(py_floats), float(x.scale[0]), int(x.zero_point)),
        alarms_match_python=all(r["alarm_firmware"] == r["alarm_python"] for r in rows), threshold=threshold,
        threshold_machines=sorted({val["groups"][i] for i in normal}), threshold_clips=len(normal),
        instructions_per_inference=mean_instructions(sum(c["model"] for c in clips),
                                                     sum(c["vectors"] for c in clips)),
        frontend_instructions_per_clip=mean_instructions(sum(c["fe"] for c in clips), len(clips)),
        instructions_method=f"board counter around the {n_frames}-frame front end and each model_invoke",
        clip_window_samples=list(crop), clips=rows)
    req.log(f"anomaly firmware: per-op profile (profiling build) on {req.board}")
    # report fields per_op_instructions, per_op_profile; op_profile.png beside memory.png
    section.update(app_profile(graph, req.board, req.run_dir, f"anomaly {Path(req.graph_path).stem}"))
    return section

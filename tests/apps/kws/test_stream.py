"""apps/kws/stream.py: integer posteriors and the averaging/detection rules (exact expected detections), their C
twin (kws_stream.c built on the host, same detections on random logits), and the `stream` command on good and bad
WAV files. `tiny_kws_run` (a 4-class model trained for seconds on espeak-ng words) is shared with test_firmware."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from apps.kws.stream import (StreamConfig, detect, detection_tuples, exp_table_q16, posteriors_q15,
                             window_starts, window_time_ms)

LABELS = ["yes", "no", "_silence_", "_unknown_"]
CFG = StreamConfig(window_samples=16000, hop_samples=4000, average_windows=2, threshold=0.5, suppression_ms=1000)


def _onehot(rows: list[dict[int, int]]) -> np.ndarray:
    post = np.zeros((len(rows), len(LABELS)), np.int64)
    for w, row in enumerate(rows):
        for c, v in row.items():
            post[w, c] = v
    return post


# window w ends at 1000 + 250 w ms; K = 2; threshold 0.5 -> a K-window sum >= 32768
POSTERIORS = _onehot([
    {0: 32768},                 # w0 1000 ms: only one window seen, no decision
    {0: 32768},                 # w1 1250: yes, sum 65536 -> detection
    {0: 32768},                 # w2 1500: suppressed (250 ms after)
    {2: 32768},                 # w3 1750: yes and _silence_ tie at 32768 -> yes (lowest index), suppressed
    {2: 32768},                 # w4 2000: _silence_ on top: background, never reported
    {1: 20000, 3: 12768},       # w5 2250: _silence_ 32768 still on top
    {1: 20000, 3: 12768},       # w6 2500: no, sum 40000 -> detection (1250 ms after the last)
    {1: 16383, 0: 16385},       # w7 2750: no on top (36383) but suppressed
    {0: 32768},                 # w8 3000: yes 49153 on top, suppressed (500 ms)
    {0: 16384, 1: 16384},       # w9 3250: yes 49152 -> suppressed still (750 ms)
    {0: 16384, 1: 16384},       # w10 3500: yes 32768 == threshold exactly -> detection (1000 ms after)
])


def test_detections_exact():
    starts = window_starts(16000 + 4000 * 10, CFG)
    assert starts == [4000 * w for w in range(11)]
    assert [window_time_ms(s, CFG) for s in starts[:3]] == [1000, 1250, 1500]
    dets = detect(POSTERIORS, LABELS, starts, CFG, integer=True)
    assert detection_tuples(dets) == [(0, 1250), (1, 2500), (0, 3500)]
    assert [d.window for d in dets] == [1, 6, 10]
    assert [d.score for d in dets] == [1.0, 40000 / 65536, 0.5]


def test_threshold_boundary_and_float_path_agree():
    starts = window_starts(16000 + 4000 * 10, CFG)
    below = POSTERIORS.copy()
    below[10] = [16383, 16385, 0, 0]  # yes 32767 < 32768; no 16385 + 16384 = 32769 on top -> a "no"
    assert detection_tuples(detect(below, LABELS, starts, CFG, integer=True))[-1] == (1, 3500)
    float_dets = detect(POSTERIORS / 32768.0, LABELS, starts, CFG, integer=False)
    assert detection_tuples(float_dets) == [(0, 1250), (1, 2500), (0, 3500)]
    no_suppression = StreamConfig(window_samples=16000, hop_samples=4000, average_windows=2, threshold=0.5,
                                  suppression_ms=0)
    every = detect(POSTERIORS, LABELS, starts, no_suppression, integer=True)
    assert [d.window for d in every] == [1, 2, 3, 6, 7, 8, 9, 10]  # all but the too-early and background ones


def test_short_audio_gives_one_window():
    assert window_starts(1000, CFG) == [0]
    assert window_starts(16000 + 3999, CFG) == [0]
    assert window_starts(16000 + 4000, CFG) == [0, 4000]


def test_posteriors_q15_exact():
    table = exp_table_q16(np.log(2.0) / 10)  # a gap of 10 steps halves the weight
    assert table[0] == 65536 and table[10] == 32768 and table[20] == 16384
    post = posteriors_q15(np.int8([[10, 10, 0], [-128, 127, -128]]), table)
    # 65536 * 32768 // 163840 = 13107; 32768 * 32768 // 163840 = 6553; a 255-step gap weighs round(65536 / 2**25.5)
    assert post[0].tolist() == [13107, 13107, 6553]
    assert table[255] == 0 and post[1].tolist() == [0, 32768, 0]


def test_c_stream_logic_equals_python(tmp_path):
    """kws_stream.c on the host: Q15 posteriors and detections equal Python's on 400 random windows."""
    from apps.kws.firmware_run import FIRMWARE_DIR, _defines
    from tinycore.export.app_firmware import data_sources

    rng = np.random.default_rng(3)
    n_classes, n = 5, 400
    logits = rng.integers(-128, 128, (n, n_classes)).astype(np.int8)
    logits[::7, 1] = 127  # stretches of one class so that detections happen
    logits[:20] = [-128, 127, -128, 127, 0]  # ties, extremes
    table = exp_table_q16(0.05)
    cfg = StreamConfig(window_samples=16000, hop_samples=1600, average_windows=3, threshold=0.4,
                       suppression_ms=300)
    labels = ["a", "b", "_silence_", "c", "_unknown_"]
    data_sources({"kws_exp_q16": table, "logits": logits.reshape(-1)},
                 _defines(1, n_classes, 0b10100, cfg, True), tmp_path)
    (tmp_path / "t.c").write_text("""
#include <stdio.h>
#include "kws_stream.h"
int main(void) {
    static kws_stream_t s; uint16_t post[KWS_N_CLASSES]; int32_t w, c, cls, sum;
    kws_stream_init(&s);
    for (w = 0; w < (int32_t)(LOGITS_LEN / KWS_N_CLASSES); ++w) {
        uint32_t t = (uint32_t)((w * KWS_HOP_SAMPLES + KWS_WINDOW_SAMPLES) * 1000 / KWS_SAMPLE_RATE_HZ);
        kws_posteriors_q15(&logits[w * KWS_N_CLASSES], post);
        for (c = 0; c < KWS_N_CLASSES; ++c) printf("%u ", (unsigned)post[c]);
        printf("\\n");
        if (kws_stream_push(&s, post, t, &cls, &sum)) printf("det %d %u %d\\n", (int)cls, (unsigned)t, (int)sum);
    }
    return 0;
}
""")
    exe = tmp_path / "t"
    res = subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", f"-I{tmp_path}",
                          f"-I{FIRMWARE_DIR}", str(tmp_path / "t.c"), str(FIRMWARE_DIR / "kws_stream.c"),
                          str(tmp_path / "app_data.c"), "-o", str(exe)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    c_post = np.array([[int(v) for v in ln.split()] for ln in lines if not ln.startswith("det")])
    c_dets = [tuple(int(v) for v in ln.split()[1:3]) for ln in lines if ln.startswith("det")]
    py_post = posteriors_q15(logits, table)
    np.testing.assert_array_equal(c_post, py_post)
    py_dets = detection_tuples(detect(py_post, labels, window_starts(16000 + 1600 * (n - 1), cfg), cfg,
                                      integer=True))
    assert len(py_dets) >= 5
    assert c_dets == py_dets


TINY_CLASSES = ("yes", "no", "_silence_", "_unknown_")
TINY_VOICES = ("en-us+m3", "en-gb+f2", "en-gb-scotland+klatt", "en-us+f4", "en+m5", "en-029+m1")


def _tiny_clips(rng: np.random.Generator, voices, reps: int) -> tuple[list[np.ndarray], list[str]]:
    from tinycore.audio.espeak import synthesize
    from tinycore.audio.noise import coloured_noise, mix_at_snr
    from tinycore.audio.wav import pad_or_trim, resample

    waves, labels = [], []
    for voice in voices:
        for _ in range(reps):
            for label, word in (("yes", "yes"), ("no", "no"), ("_unknown_", str(rng.choice(["cat", "house"])))):
                x, rate = synthesize(word, voice, speed_wpm=int(rng.integers(140, 200)), pitch=int(rng.integers(30, 70)))
                x = np.roll(pad_or_trim(resample(x, rate, 16000), 16000), int(rng.integers(0, 3000)))
                waves.append(mix_at_snr(x, coloured_noise(16000, 1.0, rng), float(rng.uniform(15, 30))))
                labels.append(label)
            waves.append(coloured_noise(16000, float(rng.choice([0.0, 1.0])), rng) * 10 ** (rng.uniform(-50, -25) / 20))
            labels.append("_silence_")
    return [np.clip(w, -1, 32767 / 32768).astype(np.float32) for w in waves], labels


def build_tiny_run(root: Path, seed: int = 0):
    """A run folder with model.graph of a 4-class int8 KWS model (a few seconds of training on espeak-ng words)
    and a test split on disk; returns (RunDir, TaskData) as the firmware step gets them."""
    import torch

    from apps.kws.frontend import KWS_FRONTEND
    from tinycore.audio.features import compute_features
    from tinycore.audio.manifest import ClipRecord, Manifest
    from tinycore.quant import quantize
    from tinycore.report import RunDir
    from tinycore.spec import (FC, Conv, DWSep, Flatten, GlobalPool, InputSpec, ModelSpec, build_model,
                               spec_to_json)
    from tinycore.task import TaskData

    rng = np.random.default_rng(seed)
    train_w, train_l = _tiny_clips(rng, TINY_VOICES[:4], 2)
    test_w, test_l = _tiny_clips(rng, TINY_VOICES[4:], 1)
    idx = {c: i for i, c in enumerate(TINY_CLASSES)}
    xt = compute_features(KWS_FRONTEND, np.stack(train_w))[:, None]
    yt = torch.tensor([idx[c] for c in train_l])
    spec = ModelSpec(input=InputSpec(channels=1, height=49, width=10), name="tiny_kws",
                     stem=(Conv(8, kernel=(10, 4), stride=2, padding=(5, 1), act="relu"),),
                     blocks=(DWSep(16, kernel=3, act="relu"),), head=(GlobalPool(), Flatten(), FC(len(TINY_CLASSES))))
    torch.manual_seed(seed)
    model = build_model(spec)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.from_numpy(xt)
    for _ in range(80):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), yt).backward()
        opt.step()
    model.eval()
    graph = quantize(model, [x])
    graph.meta["classes"] = list(TINY_CLASSES)
    run = RunDir(root / "run")
    run.path.mkdir(parents=True, exist_ok=True)
    graph.save(run.graph_path)
    run.spec_path.write_text(spec_to_json(spec))
    torch.save({"model": model.state_dict()}, run.checkpoint_path)
    records = []
    for k, (w, label) in enumerate(zip(test_w, test_l)):
        sf.write(root / f"t{k}.wav", w, 16000, subtype="PCM_16")
        records.append(ClipRecord(f"t{k}.wav", label, "test", "v"))
    manifest = Manifest(root, TINY_CLASSES, tuple(records))
    xs = compute_features(KWS_FRONTEND, np.stack(test_w))[:, None]
    ys = np.array([idx[c] for c in test_l])
    data = TaskData((xt, yt.numpy()), (xs, ys), (xs, ys), (1, 49, 10), TINY_CLASSES, {"name": "tiny"},
                    {"manifest": manifest})
    return run, data, model


_TINY: dict = {}


def tiny_run(tmp_path_factory):
    """build_tiny_run once per test session (test_firmware uses the same run)."""
    if "run" not in _TINY:
        _TINY["run"] = build_tiny_run(tmp_path_factory.mktemp("tiny_kws"))
    return _TINY["run"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def _stream_cmd(argv: list[str], capsys) -> tuple[int, str, str]:
    from apps.kws.task import TASK
    from tinycore.cli.app import main

    rc = main(TASK, ["stream", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_stream_command_int8_and_resampled(tiny, tmp_path, capsys):
    run, data, _ = tiny
    manifest = data.extra["manifest"]
    recs = [r for r in manifest.clips if r.label in ("yes", "no")][:2]
    gap = np.zeros(8000, np.float32)
    audio = np.concatenate([gap] + [x for r in recs for x in (sf.read(manifest.root / r.path, dtype="float32")[0],
                                                                gap)])
    wav = tmp_path / "long.wav"
    sf.write(wav, audio, 16000, subtype="PCM_16")
    rc, out, err = _stream_cmd(["--wav", str(wav), "--run", str(run.path), "--json", "--hop-ms", "200"], capsys)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["model"] == "int8" and doc["config"]["hop_samples"] == 3200
    assert doc["windows"] == (len(audio) - 16000) // 3200 + 1
    from apps.kws.frontend import KWS_FRONTEND
    from apps.kws.stream import stream_int8
    from tinycore.audio.pcm import from_pcm16, pcm16
    from tinycore.ir import load_graph

    cfg = StreamConfig(hop_samples=3200)
    ref = stream_int8(load_graph(run.graph_path), KWS_FRONTEND, from_pcm16(pcm16(audio)), cfg)
    assert [(d["class_index"], d["time_ms"]) for d in doc["detections"]] == detection_tuples(ref["detections"])
    # 8 kHz file: resampled, with a one-line notice on stderr, and still runs
    sf.write(tmp_path / "low.wav", audio[::2], 8000, subtype="PCM_16")
    rc, out, err = _stream_cmd(["--wav", str(tmp_path / "low.wav"), "--run", str(run.path)], capsys)
    assert rc == 0 and "notice:" in err and "resampled to 16000 Hz" in err
    assert "detection(s) in" in out.splitlines()[-1]
    rc, out, err = _stream_cmd(["--wav", str(wav), "--run", str(run.path), "--float", "--json"], capsys)
    assert rc == 0 and json.loads(out)["model"] == "float"


@pytest.mark.parametrize("kind, message", [
    ("stereo", "has 2 channels, a mono file is expected"),
    ("empty", "audio file is empty"),
    ("text", "not a readable audio file"),
    ("missing", "audio file not found"),
])
def test_stream_command_bad_wav_exits_2_with_one_line(kind, message, tmp_path, capsys):
    path = tmp_path / f"{kind}.wav"
    if kind == "stereo":
        sf.write(path, np.zeros((16000, 2), np.float32), 16000, subtype="PCM_16")
    elif kind == "empty":
        sf.write(path, np.zeros(0, np.float32), 16000, subtype="PCM_16")
    elif kind == "text":
        path.write_text("this is not audio\n")
    rc, out, err = _stream_cmd(["--wav", str(path), "--run", str(tmp_path / "no_run")], capsys)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: ") and message in err


@pytest.mark.parametrize("argv, message", [(["--hop-ms", "0"], "must be positive"),
                                           (["--threshold", "1.5"], "--threshold 1.5")])
def test_stream_command_bad_settings(argv, message, tmp_path, capsys):
    sf.write(tmp_path / "a.wav", np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    rc, _, err = _stream_cmd(["--wav", str(tmp_path / "a.wav"), "--run", str(tmp_path), *argv], capsys)
    assert rc == 2 and message in err and err.count("\n") == 1

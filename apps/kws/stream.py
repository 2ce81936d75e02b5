"""Keyword spotting on a long recording: slide a 1 s window, average posteriors, report detections with times.

Windows: window_samples L every hop_samples H; window w covers samples [w*H, w*H + L) and its decision time is its
end, time_ms = (w*H + L) * 1000 // sample_rate_hz. A recording shorter than L is zero-padded to L (one window).

Integer method (the int8 graph; the firmware loop in apps/kws/firmware/kws_stream.c does the same arithmetic, so
C and Python give identical detections for identical logits):
  1. posteriors: the int8 logits q_c (output scale s) -> d_c = max(q) - q_c in 0..255 -> e_c = E[d_c], where
     E[d] = round(65536 * exp(-d * s)) is a 256-entry table computed once here (and compiled into the firmware);
     p_c = floor(e_c * 32768 / sum(e)), i.e. softmax in Q15 (sum(e) >= 65536, never zero).
  2. average: sum of the Q15 posteriors of the last K windows (int32), per class.
  3. decision, once K windows were seen: top = argmax of the sums (ties: the lowest index); a detection when top
     is not a background class (_silence_, _unknown_), sum[top] >= K * round(threshold * 32768), and no detection
     was made within suppression_ms before this window's time.
The float path (`--float`: torch model, softmax) runs steps 2-3 on float posteriors with the same rules.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from numpy.typing import NDArray

from tinycore.errors import UnsupportedError

Q15_ONE = 32768
EXP_ONE = 65536
BACKGROUND_LABELS = ("_silence_", "_unknown_")


@dataclass(frozen=True)
class StreamConfig:
    """Sliding-window settings; saved in reports and compiled into the firmware as macros."""
    window_samples: int = 16000  # L: the model's clip length
    hop_samples: int = 4000      # H: 250 ms at 16 kHz
    average_windows: int = 3     # K: posteriors averaged over the last K windows
    threshold: float = 0.5       # averaged posterior of the top class needed for a detection
    suppression_ms: int = 1000   # no second detection within this time after one
    sample_rate_hz: int = 16000

    def __post_init__(self) -> None:
        if self.window_samples <= 0 or self.hop_samples <= 0 or self.sample_rate_hz <= 0:
            raise UnsupportedError(f"stream: window {self.window_samples}, hop {self.hop_samples} samples and rate "
                                   f"{self.sample_rate_hz} Hz must be positive")
        if not 1 <= self.average_windows <= 64:
            raise UnsupportedError(f"stream: --average {self.average_windows} must be in 1..64 windows")
        if not 0.0 <= self.threshold <= 1.0:
            raise UnsupportedError(f"stream: --threshold {self.threshold} must be a posterior in [0, 1]")
        if self.suppression_ms < 0:
            raise UnsupportedError(f"stream: suppression {self.suppression_ms} ms must be >= 0")

    @property
    def threshold_q15(self) -> int:
        return int(round(self.threshold * Q15_ONE))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Detection:
    class_index: int
    label: str
    time_ms: int      # end of the window that triggered it
    score: float      # averaged posterior of the class, in [0, 1]
    window: int       # index of that window


def window_starts(n_samples: int, config: StreamConfig) -> list[int]:
    """Start sample of every full window (one window at 0 when the audio is shorter than L)."""
    last = max(n_samples - config.window_samples, 0)
    return list(range(0, last + 1, config.hop_samples))


def window_time_ms(start: int, config: StreamConfig) -> int:
    return (start + config.window_samples) * 1000 // config.sample_rate_hz


def exp_table_q16(output_scale: float) -> NDArray[np.uint32]:
    """E[d] = round(65536 * exp(-d * output_scale)), d = 0..255: softmax weights of logit gaps (E[0] = 65536)."""
    if not output_scale > 0:
        raise UnsupportedError(f"output scale {output_scale} must be > 0 for posteriors")
    d = np.arange(256, dtype=np.float64)
    return np.round(EXP_ONE * np.exp(-d * float(output_scale))).astype(np.uint32)


def posteriors_q15(logits: NDArray[np.int8], table: NDArray[np.uint32]) -> NDArray[np.int64]:
    """(N, C) int8 logits -> (N, C) Q15 posteriors, exactly as kws_posteriors_q15 in C (see the module doc)."""
    q = np.asarray(logits).astype(np.int64).reshape(len(logits), -1)
    e = np.asarray(table, dtype=np.int64)[q.max(axis=1, keepdims=True) - q]
    return (e * Q15_ONE) // e.sum(axis=1, keepdims=True)


def detect(posteriors: NDArray, labels: Sequence[str], starts: Sequence[int], config: StreamConfig, *,
           integer: bool) -> list[Detection]:
    """Average the last K windows' posteriors and decide, window by window (module doc, steps 2-3).

    integer=True: `posteriors` are Q15 ints, compared exactly; False: floats in [0, 1].
    """
    post = np.asarray(posteriors)
    k = config.average_windows
    background = {i for i, name in enumerate(labels) if name in BACKGROUND_LABELS}
    one = Q15_ONE if integer else 1.0
    limit = k * config.threshold_q15 if integer else k * config.threshold
    out: list[Detection] = []
    last_ms: int | None = None
    for w in range(k - 1, len(post)):
        sums = post[w - k + 1:w + 1].astype(np.int64 if integer else np.float64).sum(axis=0)
        top = int(np.argmax(sums))
        time_ms = window_time_ms(starts[w], config)
        if top in background or sums[top] < limit:
            continue
        if last_ms is not None and time_ms - last_ms < config.suppression_ms:
            continue
        out.append(Detection(top, labels[top], time_ms, float(sums[top]) / (k * one), w))
        last_ms = time_ms
    return out


def detection_tuples(dets: Sequence[Detection]) -> list[tuple[int, int]]:
    """(class, time_ms) pairs: what firmware and Python must agree on."""
    return [(d.class_index, d.time_ms) for d in dets]


def window_batch(audio: NDArray[np.float32], starts: Sequence[int], config: StreamConfig) -> NDArray[np.float32]:
    """(n windows, L) float32 views of the audio, zero-padded at the end if it is shorter than L."""
    x = np.asarray(audio, np.float32)
    if len(x) < config.window_samples:
        x = np.concatenate([x, np.zeros(config.window_samples - len(x), np.float32)])
    return np.stack([x[s:s + config.window_samples] for s in starts]) if starts else np.zeros((0, len(x)))


def int8_windows(graph, fe_config, windows: NDArray[np.float32]) -> tuple[NDArray[np.int8], NDArray[np.int8]]:
    """Python pipeline of the firmware: torch front end -> quantize to the graph input -> numpy integer runtime.

    windows (N, L) float32 -> (int8 features (N, T*F), int8 logits (N, C)).
    """
    from tinycore.audio.features import compute_features
    from tinycore.runtime import quantize_float_s8, run

    x = graph.input_tensor()
    feats = compute_features(fe_config, windows).reshape(len(windows), -1)
    q = quantize_float_s8(feats, float(x.scale[0]), int(x.zero_point))
    if q.shape[1] != x.size:
        raise UnsupportedError(f"front end gives {q.shape[1]} values per window, graph input '{x.name}' takes "
                               f"{x.size} {tuple(x.shape)}; the run was exported with another front end")
    logits = np.stack([run(graph, v.reshape(x.shape)).reshape(-1) for v in q]) if len(q) else np.zeros((0, 0))
    return q, logits.astype(np.int8)


def stream_int8(graph, fe_config, audio: NDArray[np.float32], config: StreamConfig) -> dict:
    """Slide over `audio` with the int8 graph; returns starts, features, logits, Q15 posteriors, detections."""
    starts = window_starts(len(audio), config)
    feats, logits = int8_windows(graph, fe_config, window_batch(audio, starts, config))
    post = posteriors_q15(logits, exp_table_q16(float(graph.output_tensor().scale[0])))
    labels = list(graph.meta.get("classes") or [str(i) for i in range(logits.shape[1])])
    return {"starts": starts, "features": feats, "logits": logits, "posteriors": post,
            "detections": detect(post, labels, starts, config, integer=True)}


def stream_float(model, labels: Sequence[str], fe_config, audio: NDArray[np.float32], config: StreamConfig) -> dict:
    """The same sliding window with the float torch model and float softmax posteriors."""
    import torch

    from tinycore.audio.features import compute_features

    starts = window_starts(len(audio), config)
    feats = compute_features(fe_config, window_batch(audio, starts, config))
    with torch.no_grad():
        post = torch.softmax(model(torch.from_numpy(feats[:, None])), dim=-1).numpy()
    return {"starts": starts, "posteriors": post, "detections": detect(post, labels, starts, config, integer=False)}


def read_stream_wav(path: str, sample_rate_hz: int, notices: list[str]) -> NDArray[np.float32]:
    """tinycore.audio.read_wav (mono required; DataError for a missing, empty or non-audio file), with the
    resampling notice collected into `notices` instead of a Python warning."""
    import warnings

    from tinycore.audio import AudioNotice, read_wav

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AudioNotice)
        audio = read_wav(path, sample_rate_hz)
    notices += [str(w.message) for w in caught if issubclass(w.category, AudioNotice)]
    return audio


def cmd_stream(task, args) -> int:
    """`stream --wav FILE --run RUN`: detections on a long recording with the run's int8 (or float) model."""
    import json
    import sys

    from pathlib import Path

    from apps.kws.frontend import frontend_of
    from tinycore.ir import load_graph
    from tinycore.report import RunDir

    run = RunDir(Path(args.run))
    fe = frontend_of(run.load_report().get("dataset", {}))  # the front end the run's model was trained on
    config = StreamConfig(window_samples=fe.clip_samples, hop_samples=args.hop_ms * fe.sample_rate_hz // 1000,
                          average_windows=args.average, threshold=args.threshold,
                          suppression_ms=args.suppression_ms, sample_rate_hz=fe.sample_rate_hz)
    notices: list[str] = []
    audio = read_stream_wav(args.wav, fe.sample_rate_hz, notices)
    for n in notices:
        if not args.quiet:
            print(f"notice: {n}", file=sys.stderr)
    graph = load_graph(run.need(run.graph_path, "export"))
    if args.float:
        from tinycore.cli.steps import load_float_model

        labels = list(graph.meta.get("classes") or [])
        result = stream_float(load_float_model(run), labels, fe, audio, config)
    else:
        result = stream_int8(graph, fe, audio, config)
    dets = result["detections"]
    duration_ms = len(audio) * 1000 // fe.sample_rate_hz
    mode = "float" if args.float else "int8"
    if args.json:
        print(json.dumps({"wav": str(args.wav), "run": str(run.path), "model": mode, "duration_ms": duration_ms,
                          "windows": len(result["starts"]), "config": config.to_dict(), "notices": notices,
                          "detections": [asdict(d) for d in dets]}, indent=1))
        return 0
    for d in dets:
        print(f"{d.label} at {d.time_ms / 1000:.3f} s (averaged posterior {d.score:.2f})")
    print(f"{len(dets)} detection(s) in {duration_ms / 1000:.2f} s of audio: {len(result['starts'])} windows of "
          f"{config.window_samples} samples every {args.hop_ms} ms, average of {config.average_windows}, threshold "
          f"{config.threshold}, {mode} model")
    return 0


def add_commands(sub) -> None:
    """TASK.add_commands: the `stream` subcommand."""
    p = sub.add_parser("stream", help="detect keywords in a long recording (sliding window, averaged posteriors)")
    p.add_argument("--wav", required=True, help="a mono WAV file (another sample rate is resampled, with a notice)")
    p.add_argument("--run", required=True, help="the run folder with model.graph (and checkpoint.pt for --float)")
    p.add_argument("--hop-ms", type=int, default=250, help="window hop in ms (window = 1 s)")
    p.add_argument("--average", type=int, default=StreamConfig.average_windows,
                   help="average the posteriors of the last N windows")
    p.add_argument("--threshold", type=float, default=StreamConfig.threshold,
                   help="averaged posterior needed for a detection, in [0, 1]")
    p.add_argument("--suppression-ms", type=int, default=StreamConfig.suppression_ms,
                   help="no second detection within this time")
    p.add_argument("--float", action="store_true", help="use the float model instead of the int8 graph")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--quiet", action="store_true", help="no notices on stderr")
    p.set_defaults(fn=cmd_stream)

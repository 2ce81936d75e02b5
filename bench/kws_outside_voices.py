"""Accuracy of a trained KWS run on the voices of two other synthesizers, flite and festival, which the app never
trains or tunes on (issue #15 keeps them for measuring from outside): how far the built-in espeak-ng set carries.

    python bench/kws_outside_voices.py RUN_DIR [RUN_DIR ...] [--out /tmp/kws_outside] [--seed 0] [--reuse]

Each installed English voice (flite: kal, kal16, awb, rms, slt; festival: every voice of `voice.list`) speaks the
ten keywords at three speeds (duration stretch 0.85 / 1.0 / 1.2) and 20 `_unknown_` words (ten Speech Commands
words, ten of the app's confusable words); 40 `_silence_` clips of noise. Each word is trimmed, peak 0.5, placed
at a seeded offset in 1 s. Two trees in the official test archive's layout are written and scored: `clean/`, and
`noisy/` with the pinned protocol's noise (80 % of speech clips, one of the eight kinds, SNR U(0, 25) dB; babble is
3-5 other words of the same outside voices). One JSON line per tree: float and int8 accuracy, keyword recall,
keyword -> `_unknown_` rate, per-class recall (int8) and per-voice accuracy (int8); with several runs, one line per
run and tree, all on the same clips (`--reuse` scores trees an earlier call wrote, without synthesizing). Needs
`apt-get install flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts`.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.kws.data import (CONFUSABLE, NOISE_KINDS, NOISY_FRACTION, SAMPLE_RATE_HZ, SILENCE_RMS_DBFS,  # noqa: E402
                           SNR_DB, babble, noise_clip, place, trim_silence)
from apps.kws.speech_commands import CLASSES, KEYWORDS, UNKNOWN_WORDS  # noqa: E402
from tinycore.audio.noise import mix_at_snr  # noqa: E402
from tinycore.audio.wav import AudioNotice, read_wav  # noqa: E402

STRETCHES = (0.85, 1.0, 1.2)
UNKNOWN = UNKNOWN_WORDS[:10] + CONFUSABLE[::2][:10]
SILENCE_CLIPS = 40
APT = "apt-get install flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"
LIMITED_DOMAIN = {"awb_time"}  # flite's talking clock: it only says times


def installed_voices() -> list[tuple[str, str]]:
    """(engine, voice) of every installed flite and festival voice that can say any word."""
    if not shutil.which("flite") or not shutil.which("festival"):
        sys.exit(f"flite and festival are needed: {APT}")
    flite = subprocess.run(["flite", "-lv"], capture_output=True, text=True, check=True).stdout
    festival = subprocess.run(["festival", "-b", "(print (voice.list))"], capture_output=True, text=True,
                              check=True).stdout
    names = flite.split(":", 1)[1].split() if ":" in flite else []
    return ([("flite", v) for v in names if v not in LIMITED_DOMAIN] +
            [("festival", v) for v in re.findall(r"[\w-]+", festival)])


def synthesize(engine: str, voice: str, word: str, stretch: float, tmp: Path) -> np.ndarray:
    """`word` by `voice` at 16 kHz, leading and trailing silence trimmed, peak 0.5."""
    wav = tmp / "word.wav"
    if engine == "flite":
        cmd = ["flite", "-voice", voice, "-t", word, "-o", str(wav), "--setf", f"duration_stretch={stretch}"]
        subprocess.run(cmd, capture_output=True, check=True)
    else:
        cmd = ["text2wave", "-eval", f"(voice_{voice})", "-eval", f"(Parameter.set 'Duration_Stretch {stretch})",
               "-o", str(wav)]
        subprocess.run(cmd, input=word.encode(), capture_output=True, check=True)
    with warnings.catch_warnings():  # festival's HTS voice writes 32 kHz: the resampling notice is expected
        warnings.simplefilter("ignore", AudioNotice)
        x = read_wav(wav, SAMPLE_RATE_HZ)
    x = trim_silence(x)
    return (0.5 * x / max(np.abs(x).max(), 1e-9)).astype(np.float32)


def noise(kind: str, words: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """1 s of unit-RMS noise of `kind`, as the built-in set makes it; babble sums 3-5 of `words`."""
    if kind != "babble":
        return noise_clip(kind, rng)
    picks = rng.integers(0, len(words), int(rng.integers(3, 6)))
    return babble([words[int(i)] for i in picks], rng)


def write_trees(root: Path, seed: int) -> list[Path]:
    """clean/ and noisy/ test-archive trees (<label>/<voice>_nohash_<word>_<stretch>.wav) of every outside voice."""
    rng = np.random.default_rng(seed)
    voices = installed_voices()
    words = [(w, w, s) for w in KEYWORDS for s in STRETCHES] + [(w, "_unknown_", 1.0) for w in UNKNOWN]
    speech = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine, voice in voices:
            for word, label, stretch in words:
                x = synthesize(engine, voice, word, stretch, Path(tmp))
                speech.append((label, f"{voice}_nohash_{word}_{stretch}", x))
    trees = [root / "clean", root / "noisy"]
    for tree in trees:
        shutil.rmtree(tree, ignore_errors=True)
        for c in CLASSES:
            (tree / c).mkdir(parents=True)
    sources = [x for _, _, x in speech]
    for label, name, x in speech:
        clip = place(x, rng)
        sf.write(trees[0] / label / f"{name}.wav", clip, SAMPLE_RATE_HZ, subtype="PCM_16")
        if rng.random() < NOISY_FRACTION["test"]:  # the pinned test protocol's noise
            kind = str(rng.choice(NOISE_KINDS))
            clip = mix_at_snr(clip, noise(kind, sources, rng), float(rng.uniform(*SNR_DB["test"])))
            clip = clip / max(1.0, float(np.abs(clip).max()))
        sf.write(trees[1] / label / f"{name}.wav", clip, SAMPLE_RATE_HZ, subtype="PCM_16")
    for i in range(SILENCE_CLIPS):
        x = noise(str(rng.choice(NOISE_KINDS[:-1])), sources, rng) * 10 ** (rng.uniform(*SILENCE_RMS_DBFS) / 20)
        for tree in trees:
            sf.write(tree / "_silence_" / f"noise_nohash_{i}.wav", x, SAMPLE_RATE_HZ, subtype="PCM_16")
    return trees


def score(run: Path, tree: Path) -> dict:
    """Float and int8 scores of `run` on one tree, read as `eval --data-dir` reads it (the run's front end)."""
    from apps.kws.task import TASK
    from tinycore.cli.steps import predictors
    from tinycore.report import RunDir
    from tinycore.task import DataOptions

    report = json.loads((run / "report.json").read_text())
    with tempfile.TemporaryDirectory() as cache:
        data = TASK.load_data(DataOptions(cache_dir=Path(cache), data_dir=tree, progress=False, splits=("test",),
                                          frontend=report["dataset"].get("frontend_name")))
    x, y = data.test
    voices = [r.voice for r in data.extra["manifest"].split("test")]
    out: dict = {"tree": str(tree), "clips": int(len(y))}
    keyword = y < len(KEYWORDS)
    preds = {name: predict(x).argmax(1) for name, predict in zip(("float", "int8"), predictors(RunDir(run)))}
    for name, pred in preds.items():
        out[name] = {"accuracy": round(float((pred == y).mean()), 4),
                     "keyword_recall": round(float((pred[keyword] == y[keyword]).mean()), 4),
                     "keyword_to_unknown": round(float((pred[keyword] == CLASSES.index("_unknown_")).mean()), 4)}
    by_class, by_voice = defaultdict(list), defaultdict(list)
    for v, t, p in zip(voices, y, preds["int8"]):
        by_class[CLASSES[t]].append(p == t)
        by_voice[v].append(p == t)
    out["int8"]["per_class_recall"] = {c: round(float(np.mean(by_class[c])), 3) for c in CLASSES if by_class[c]}
    out["int8"]["per_voice"] = {v: round(float(np.mean(r)), 3) for v, r in sorted(by_voice.items())}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+", help="KWS run folders (report.json, checkpoint.pt, model.graph)")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "kws_outside",
                    help="where the two trees are written (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="placement, noise kinds and SNRs (default: 0)")
    ap.add_argument("--reuse", action="store_true", help="score the trees already in --out instead of writing them")
    args = ap.parse_args()
    trees = [args.out / "clean", args.out / "noisy"]
    if args.reuse:
        missing = [str(t) for t in trees if not (t / "_unknown_").is_dir()]
        if missing:
            sys.exit(f"--reuse: no tree written at {', '.join(missing)} (run once without --reuse)")
    else:
        trees = write_trees(args.out, args.seed)
    for run in args.runs:
        for tree in trees:
            print(json.dumps({"run": str(run), **score(run, tree)}), flush=True)


if __name__ == "__main__":
    main()

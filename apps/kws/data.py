"""The built-in KWS data set: the 12 Speech Commands classes spoken by espeak-ng, with noise, split by speaker.

Each clip: one word by one voice = accent (every English espeak-ng language voice) + variant (speaker
character), random speed, pitch, amplitude and time shift, resampled to 16 kHz, 1 s, mixed with white, pink or
brown noise, mains hum, or babble (other words by other voices of the same split) at a random SNR.
Split rule (strict): variants are shuffled by the seed and divided 70/15/15 into train/val/test; a variant is
in exactly one split, so no test speaker character is heard in training (accents, only 8, are shared).
`_silence_` clips are noise only; `_unknown_` clips are the 25 other Speech Commands words.
Deterministic from the seed (each clip carries its own seed, so the process pool's order does not matter);
cached as wav/<split>/<label>/<n>.wav + manifest.json (rebuilt only if seed, size or espeak-ng changes).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from apps.kws.speech_commands import CLASSES, KEYWORDS, UNKNOWN_WORDS
from tinycore.audio.espeak import english_accents, espeak_version, synthesize, variants
from tinycore.audio.manifest import ClipRecord, Manifest
from tinycore.audio.noise import COLOURS, coloured_noise, hum, mix_at_snr
from tinycore.audio.wav import resample
from tinycore.pool import map_in_processes

DATASET_VERSION = 1
SAMPLE_RATE_HZ = 16000
CLIP_SAMPLES = 16000
SPLIT_FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}
SNR_DB = {"train": (5.0, 30.0), "val": (10.0, 30.0), "test": (10.0, 30.0)}  # uniform, every speech clip
NOISE_KINDS = ("white", "pink", "brown", "hum", "babble")
SILENCE_RMS_DBFS = (-60.0, -25.0)  # _silence_ clips: noise only (no babble) at this RMS level
SPEED_WPM, PITCH, AMPLITUDE = (130, 220), (25, 75), (60, 160)


@dataclass(frozen=True)
class DatasetSize:
    reps: int                 # clips per keyword per variant; _unknown_ gets 2x, _silence_ 1x
    max_variants: int | None = None  # use only the first N variants (after the seeded shuffle); None = all


FULL = DatasetSize(reps=10)
QUICK = DatasetSize(reps=6)  # 7,722 clips: a third of that left accuracy on unseen voices near 80 %


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to render one clip, decided up front from the seed."""
    index: int
    path: str
    label: str
    split: str
    word: str       # "" for _silence_
    accent: str
    variant: str
    speed_wpm: int
    pitch: int
    amplitude: int
    noise: str
    snr_db: float | None  # None for _silence_ (noise only)
    level_dbfs: float     # _silence_ noise RMS
    babble: tuple[tuple[str, str, int, int], ...]  # (word, voice, speed, pitch) per babble talker
    seed: int


def split_variants(names: list[str], rng: np.random.Generator) -> dict[str, list[str]]:
    """Shuffle and cut 70/15/15 (at least one variant per split): disjoint speaker characters."""
    names = [str(n) for n in rng.permutation(sorted(names))]
    n_val = max(1, round(len(names) * SPLIT_FRACTIONS["val"]))
    n_test = max(1, round(len(names) * SPLIT_FRACTIONS["test"]))
    return {"test": sorted(names[:n_test]), "val": sorted(names[n_test:n_test + n_val]),
            "train": sorted(names[n_test + n_val:])}


def plan(seed: int, size: DatasetSize, accents: list[str], all_variants: list[str]) -> tuple[list[ClipSpec], dict]:
    """The clip list and the variant split; a pure function of its arguments."""
    rng = np.random.default_rng(seed)
    pool = list(rng.permutation(sorted(all_variants)))[:size.max_variants]
    by_split = split_variants(pool, rng)
    specs: list[ClipSpec] = []
    for split in ("train", "val", "test"):
        for variant in by_split[split]:
            words = [w for w in KEYWORDS for _ in range(size.reps)]
            words += list(rng.choice(UNKNOWN_WORDS, size=2 * size.reps)) + [""] * size.reps
            for word in words:
                label = word if word in KEYWORDS else "_unknown_" if word else "_silence_"
                noise = str(rng.choice(NOISE_KINDS if word else NOISE_KINDS[:4]))
                babble = tuple(
                    (str(rng.choice(UNKNOWN_WORDS)),
                     f"{rng.choice(accents)}+{rng.choice(by_split[split])}",
                     int(rng.integers(*SPEED_WPM)), int(rng.integers(*PITCH)))
                    for _ in range(int(rng.integers(3, 6)) if noise == "babble" else 0))
                i = len(specs)
                specs.append(ClipSpec(
                    index=i, path=f"wav/{split}/{label}/{i:05d}.wav", label=label, split=split, word=word,
                    accent=str(rng.choice(accents)), variant=str(variant),
                    speed_wpm=int(rng.integers(*SPEED_WPM)), pitch=int(rng.integers(*PITCH)),
                    amplitude=int(rng.integers(*AMPLITUDE)), noise=noise,
                    snr_db=round(float(rng.uniform(*SNR_DB[split])), 2) if word else None,
                    level_dbfs=round(float(rng.uniform(*SILENCE_RMS_DBFS)), 2), babble=babble,
                    seed=int(rng.integers(2**62))))
    return specs, by_split


def _speech(word: str, voice: str, speed: int, pitch: int, amplitude: int = 100) -> np.ndarray:
    """One word at 16 kHz with espeak-ng's leading and trailing silence removed."""
    x, rate = synthesize(word, voice, speed, pitch, amplitude)
    x = resample(x, rate, SAMPLE_RATE_HZ)
    idx = np.flatnonzero(np.abs(x) > 0.01 * max(np.abs(x).max(), 1e-9))
    return x[idx[0]:idx[-1] + 1] if len(idx) else x


def _place(x: np.ndarray, rng: np.random.Generator, n: int = CLIP_SAMPLES) -> np.ndarray:
    """Put x at a random offset in n samples (time shift); a word longer than n is cut at the end."""
    out = np.zeros(n, dtype=np.float32)
    x = x[:n]
    start = int(rng.integers(0, n - len(x) + 1))
    out[start:start + len(x)] = x
    return out


def _noise(spec: ClipSpec, rng: np.random.Generator) -> np.ndarray:
    if spec.noise in COLOURS:
        return coloured_noise(CLIP_SAMPLES, COLOURS[spec.noise], rng)
    if spec.noise == "hum":
        return hum(CLIP_SAMPLES, SAMPLE_RATE_HZ, rng)
    x = sum(_place(_speech(w, v, s, p), rng) for w, v, s, p in spec.babble)
    return (x / max(np.sqrt(np.mean(x ** 2)), 1e-9)).astype(np.float32)


def render(spec: ClipSpec, out_dir: str) -> ClipRecord:
    """Synthesize, shift, mix and write one clip (runs in a worker process)."""
    rng = np.random.default_rng(spec.seed)
    voice = f"{spec.accent}+{spec.variant}"
    noise = _noise(spec, rng)
    extra = {"word": spec.word, "accent": spec.accent, "variant": spec.variant, "speed_wpm": spec.speed_wpm,
             "pitch": spec.pitch, "amplitude": spec.amplitude}
    if spec.word:
        speech = _speech(spec.word, voice, spec.speed_wpm, spec.pitch, spec.amplitude)
        extra["speech_samples"] = int(min(len(speech), CLIP_SAMPLES))
        x = mix_at_snr(_place(speech, rng), noise, spec.snr_db)
    else:
        x = noise * np.float32(10 ** (spec.level_dbfs / 20))
        extra["level_dbfs"] = spec.level_dbfs
    peak = float(np.abs(x).max())
    if peak > 0.99:
        x = x * np.float32(0.99 / peak)
    path = Path(out_dir) / spec.path
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, SAMPLE_RATE_HZ, subtype="PCM_16")
    return ClipRecord(spec.path, spec.label, spec.split, voice, snr_db=spec.snr_db, noise=spec.noise, extra=extra)


def _cached(out: Path, key: dict) -> Manifest | None:
    path = out / "manifest.json"
    if not path.is_file():
        return None
    try:
        m = Manifest.load(path)
    except Exception:  # a damaged cache is rebuilt, not reported
        return None
    same = all(m.meta.get(k) == v for k, v in key.items())
    return m if same and all((out / c.path).is_file() for c in m.clips) else None


def build(out_dir: str | Path, seed: int, size: DatasetSize, progress: bool = True, workers: int = 2) -> Manifest:
    """Build (or reuse the cached) data set of the given size in out_dir; see the module docstring."""
    out = Path(out_dir)
    key = {"version": DATASET_VERSION, "seed": seed, "size": asdict(size), "espeak": espeak_version()}
    cached = _cached(out, key)
    if cached is not None:
        return cached
    if (out / "manifest.json").is_file() and (out / "wav").is_dir():
        shutil.rmtree(out / "wav")  # our own stale clips
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    accents = english_accents()
    specs, by_split = plan(seed, size, accents, variants())
    jobs = [(s, str(out)) for s in specs]
    records = map_in_processes(render, jobs, workers=workers, desc="kws data (espeak-ng)", progress=progress,
                               chunksize=16)
    meta = {**key, "name": "kws_espeak", "source": "built-in: espeak-ng synthesis",
            "sample_rate_hz": SAMPLE_RATE_HZ, "clip_samples": CLIP_SAMPLES, "accents": accents,
            "variants": by_split,
            "split_rule": "espeak-ng variants (speaker characters) are disjoint across train/val/test "
                          f"({SPLIT_FRACTIONS}); the {len(accents)} accents are shared",
            "snr_db": {s: list(r) for s, r in SNR_DB.items()},
            "snr_definition": "10*log10(mean power over the spoken word / mean power of the noise over 1 s)",
            "noise_kinds": list(NOISE_KINDS), "silence_rms_dbfs": list(SILENCE_RMS_DBFS),
            "speed_wpm": list(SPEED_WPM), "pitch": list(PITCH), "amplitude": list(AMPLITUDE),
            "build_seconds": round(time.perf_counter() - t0, 1)}
    manifest = Manifest(root=out, classes=CLASSES, clips=tuple(records), meta=meta)
    manifest.meta["counts"] = manifest.counts()
    manifest.save(out / "manifest.json")
    return manifest


def build_dataset(out_dir: str | Path, seed: int = 0, quick: bool = False, progress: bool = True) -> Manifest:
    """`python -m apps.kws data`: the full set (~7.7k clips) or, with quick, a third of it (~2.6k)."""
    return build(out_dir, seed, QUICK if quick else FULL, progress=progress)

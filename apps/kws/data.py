"""The built-in KWS data set: the 12 Speech Commands classes spoken by espeak-ng, split by voice and accent.

Each clip: one word by one voice = accent (an English espeak-ng language voice) + variant (speaker character),
random speed and pitch over wide ranges, amplitude and time shift, resampled to 16 kHz, 1 s. Train clips also
pass through a synthetic room (small or large, p = 0.5) and a microphone/channel colouring (band limits, cheap-mic
resonance, clipping, low-bit ADC, µ-law, telephone band; p = 0.5). Speech clips are mixed with one of NOISE_KINDS
(coloured noise, hum, fan, street, music-like tones, babble of other words by other voices of the same split).
Pinned test protocol (issue #15): test voices are variants never in train or val AND HELD_OUT_ACCENT never in
train or val (a quarter of test clips use it); 80 % of val/test speech clips are noisy at 0-25 dB SNR, the rest
clean. Variants are shuffled by the seed and cut 70/15/15. The quick set adds train clips (more speeds, pitches,
accents, rooms and channels per train voice), planned after all others from their own generator, so its val and
test clips are those of the set without them. Optionally (DatasetSize.generated_voices) train clips spoken by
generated speaker characters (random espeak-ng variant files drawn from the seed, `tinycore.audio.espeak_voices`;
train only) come after them, from their own generator too; then, optionally (DatasetSize.foreign_accent_reps),
train words in foreign accents: English phonemes read with another language's phoneme table (FOREIGN_ACCENTS,
`tinycore.audio.foreign_accent`), each from its own generator again. Every voice is spoken as
`<accent's voice file>+<variant>` (espeak-ng 1.51 drops the variant of `en-gb+<variant>`), and variants that sound
alike are one speaker: val/test clips of one that sounds like a train variant are left out (`same_speaker_dropped`
in the manifest).
`_silence_` clips are noise only; `_unknown_` clips are half words confusable with the keywords (CONFUSABLE), half
other Speech Commands words. Deterministic from the seed (each clip carries its own seed, so the process pool's
order does not matter); cached as wav/<split>/<label>/<n>.wav + manifest.json (rebuilt if the key changes).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from apps.kws.speech_commands import CLASSES, KEYWORDS, UNKNOWN_WORDS
from tinycore.audio.augment import CHANNELS, ROOMS, random_channel, reverberate, room_impulse_response
from tinycore.audio.espeak import (accent_voice_files, english_accents, espeak_version, language_voice_files,
                                   same_sounding_variants, synthesize, variants)
from tinycore.audio.espeak_voices import data_path_for, generated_names, variant_texts, write_data_dirs
from tinycore.audio.foreign_accent import SUBSTITUTES, foreign_phonemes, speakable
from tinycore.audio.manifest import ClipRecord, Manifest
from tinycore.audio.noise import COLOURS, coloured_noise, fan, hum, mix_at_snr, music, street
from tinycore.audio.wav import resample
from tinycore.pool import map_in_processes

DATASET_VERSION = 5  # 3: train speech clips also written clean (clean/...) for noise drawn anew per epoch;
# 4: quick adds train clips (QUICK.train_extra_reps), every clip of version 3 unchanged; 5: every voice is
# spoken as <accent's voice file>+<variant> (espeak-ng 1.51 drops the variant of `en-gb+<variant>`: every en-gb
# clip was one speaker) and val/test clips of a variant that sounds like a train variant are left out.
# Generated speakers (DatasetSize.generated_voices, off by default: no gain measured, README) make another key
SAMPLE_RATE_HZ = 16000
CLIP_SAMPLES = 16000
SPLIT_FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}
SNR_DB = {"train": (0.0, 30.0), "val": (0.0, 25.0), "test": (0.0, 25.0)}  # uniform, noisy speech clips
NOISY_FRACTION = {"train": 0.9, "val": 0.8, "test": 0.8}  # the other speech clips are clean
NOISE_KINDS = ("white", "pink", "brown", "hum", "fan", "street", "music", "babble")
SILENCE_RMS_DBFS = (-60.0, -25.0)  # _silence_ clips: noise only (no babble) at this RMS level
SPEED_WPM, PITCH, AMPLITUDE = (110, 250), (5, 95), (60, 160)  # espeak-ng -s, -p, -a
HELD_OUT_ACCENT = "en-gb-scotland"  # never in train or val; a quarter of the test clips
HELD_OUT_TEST_SHARE = 0.25
ROOM_P, CHANNEL_P = 0.5, 0.5  # train clips only, as planned (the draws val/test clips follow)
# close to a keyword but not a homophone (no "know", "write", "rite"): the words a hedging model must tell apart
CONFUSABLE = ("dog", "town", "dawn", "goal", "toe", "low", "lift", "lest", "now", "nose", "of", "cough", "own",
              "in", "ride", "light", "top", "step", "shop", "cup", "op", "yet", "yell", "less")
# train-only foreign accents (DatasetSize.foreign_accent_reps, tinycore.audio.foreign_accent): natural languages
# whose espeak-ng phoneme table keeps every English phoneme (after SUBSTITUTES) of 9 or 10 keywords; a word is
# spoken only in the languages that keep all of its phonemes (34-38 per keyword, 9-38 per other word)
FOREIGN_ACCENTS = ("de", "fr-fr", "it", "es", "pt", "pt-br", "ca", "eu", "ro", "nb", "sv", "is", "cy", "ga", "hi",
                   "bn", "gu", "mr", "ne", "pa", "ur", "si", "ta", "te", "kn", "ml", "tr", "az", "hr", "sr", "mk",
                   "cs", "sk", "el", "lt", "id", "ms", "tn")


@dataclass(frozen=True)
class DatasetSize:
    reps: int                 # clips per keyword per variant; _unknown_ gets 2x, _silence_ 1x
    max_variants: int | None = None  # use only the first N variants (after the seeded shuffle); None = all
    train_extra_reps: int = 0  # more train clips per keyword per train variant, planned after all the others
    generated_voices: int = 0  # train-only speaker characters drawn from the seed (espeak_voices), planned last
    generated_reps: int = 1    # clips per keyword per generated voice (_unknown_ 2x, _silence_ 1x)
    confusable_reps: int = 0   # more train `_unknown_` clips: this many of each CONFUSABLE word per train variant
    foreign_accent_reps: int = 0  # train clips per keyword (2x `_unknown_`) per train variant in FOREIGN_ACCENTS
    colour_keep: float = 1.0   # each planned train room / channel kept with this p (thin_colouring; 0.4 measured)

    def __post_init__(self) -> None:
        if not 0.0 <= self.colour_keep <= 1.0:  # a probability; > 1 would also misstate the manifest's p
            raise ValueError(f"DatasetSize.colour_keep must be in [0, 1], got {self.colour_keep}")


FULL = DatasetSize(reps=10)
# 7,722 clips + 28,704 train: 38 clips per keyword per train voice (32 more than val/test's 6); 4, 12 and 20 more
# gave test int8 88.6, 90.2 and 91.1 %, 32 more 91.9 % (best val 94.9 against 94.4 % with 12, README); 64 more
# gave 91.9 % again (one clip more) over 13 or 20 epochs, best val 94.7 / 95.1 %: not adopted (README)
# 8 or 16 foreign-accent clips (foreign_accent_reps) gave 90.9 / 90.4 %, held-out accent unmoved: not adopted
# colour_keep 0.4: rooms / channels on 36 % of train speech clips instead of 75 % (val and test have neither): best
# val +0.45 over four seeds at width 224; with the 8-block DS-CNN test int8 92.6 / 91.8 % at seeds 0 / 1 (README)
QUICK = DatasetSize(reps=6, train_extra_reps=32, colour_keep=0.4)
VOICES_DIR = "espeak_voices"  # under the data set folder: the private espeak-ng data with the generated variants


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
    noise: str            # "" for a clean speech clip
    snr_db: float | None  # None for _silence_ (noise only) and clean clips
    level_dbfs: float     # _silence_ noise RMS
    babble: tuple[tuple[str, str, int, int], ...]  # (word, voice, speed, pitch) per babble talker
    seed: int
    room: str = ""        # "", "small", "large" (ROOMS)
    channel: str = ""     # "" or one of CHANNELS
    generated: bool = False  # variant is a generated speaker (VOICES_DIR)
    phonemes: str = ""    # spoken as these English phonemes in accent, a foreign language (FOREIGN_ACCENTS)


def split_variants(names: list[str], rng: np.random.Generator) -> dict[str, list[str]]:
    """Shuffle and cut 70/15/15 (at least one variant per split): disjoint speaker characters."""
    names = [str(n) for n in rng.permutation(sorted(names))]
    n_val = max(1, round(len(names) * SPLIT_FRACTIONS["val"]))
    n_test = max(1, round(len(names) * SPLIT_FRACTIONS["test"]))
    return {"test": sorted(names[:n_test]), "val": sorted(names[n_test:n_test + n_val]),
            "train": sorted(names[n_test + n_val:])}


def split_accents(accents: list[str], held_out: str = HELD_OUT_ACCENT) -> dict[str, list[str]]:
    """Train and val speak every accent but held_out; test speaks all of them (held_out included)."""
    if held_out not in accents:
        raise ValueError(f"kws data: held-out accent {held_out!r} is not an espeak-ng English voice here "
                         f"(have {', '.join(accents)})")
    seen = [a for a in accents if a != held_out]
    return {"train": seen, "val": seen, "test": list(accents)}


def _accent(split: str, by_accent: dict[str, list[str]], rng: np.random.Generator) -> str:
    if split == "test" and rng.random() < HELD_OUT_TEST_SHARE:
        return HELD_OUT_ACCENT
    seen = [a for a in by_accent[split] if a != HELD_OUT_ACCENT]
    return str(rng.choice(seen))


def _unknown_words(n: int, rng: np.random.Generator) -> list[str]:
    """n `_unknown_` words: each a confusable word or an other Speech Commands word with equal chance."""
    return [str(rng.choice(CONFUSABLE if rng.random() < 0.5 else UNKNOWN_WORDS)) for _ in range(n)]


def _variant_specs(split: str, variant: str, reps: int, rng: np.random.Generator, by_split: dict[str, list[str]],
                   by_accent: dict[str, list[str]], start: int, generated: bool = False,
                   words: list[str] | None = None,
                   foreign: dict[str, tuple[str, list[str]]] | None = None) -> list[ClipSpec]:
    """The clips of one variant in one split (reps per keyword, 2 * reps `_unknown_`, reps `_silence_`, or the
    given words), numbered from start; every draw comes from rng in a fixed order. foreign ({word: (phonemes,
    languages)}): every clip is a word (no `_silence_`) spoken as its phonemes in one of its languages."""
    if words is None:
        words = [w for w in KEYWORDS for _ in range(reps)]
        words += _unknown_words(2 * reps, rng) + ([""] * reps if foreign is None else [])
    specs: list[ClipSpec] = []
    for word in words:
        label = word if word in KEYWORDS else "_unknown_" if word else "_silence_"
        noisy = not word or rng.random() < NOISY_FRACTION[split]
        noise = str(rng.choice(NOISE_KINDS if word else NOISE_KINDS[:-1])) if noisy else ""
        babble = tuple(
            (str(rng.choice(UNKNOWN_WORDS)),
             f"{_accent(split, by_accent, rng)}+{rng.choice(by_split[split])}",
             int(rng.integers(*SPEED_WPM)), int(rng.integers(*PITCH)))
            for _ in range(int(rng.integers(3, 6)) if noise == "babble" else 0))
        room = str(rng.choice(list(ROOMS))) if split == "train" and word and rng.random() < ROOM_P else ""
        channel = str(rng.choice(CHANNELS)) if split == "train" and word and rng.random() < CHANNEL_P else ""
        i = start + len(specs)
        specs.append(ClipSpec(
            index=i, path=f"wav/{split}/{label}/{i:05d}.wav", label=label, split=split, word=word,
            accent=str(rng.choice(foreign[word][1])) if foreign else _accent(split, by_accent, rng),
            variant=str(variant),
            speed_wpm=int(rng.integers(*SPEED_WPM)), pitch=int(rng.integers(*PITCH)),
            amplitude=int(rng.integers(*AMPLITUDE)), noise=noise,
            snr_db=round(float(rng.uniform(*SNR_DB[split])), 2) if word and noisy else None,
            level_dbfs=round(float(rng.uniform(*SILENCE_RMS_DBFS)), 2), babble=babble,
            seed=int(rng.integers(2**62)), room=room, channel=channel, generated=generated,
            phonemes=foreign[word][0] if foreign else ""))
    return specs


def plan(seed: int, size: DatasetSize, accents: list[str], all_variants: list[str],
         same_speaker: dict[str, str] | None = None,
         foreign: dict[str, tuple[str, list[str]]] | None = None) -> tuple[list[ClipSpec], dict]:
    """The clip list and the split ({"variants": {split: [...]}, "accents": {split: [...]}, "generated": [...],
    "same_speaker_dropped": {variant: [train variants]}}); a pure function of its arguments. The extra train clips
    (size.train_extra_reps), then those of the generated speakers (train only; babble talkers stay shipped train
    variants), come last, each from their own generator, so every other clip is the one a set without them has.
    same_speaker ({variant: representative}, espeak.same_sounding_variants): the val/test clips of a variant that
    sounds like a train variant are planned, then left out (their numbers stay unused), so no other clip moves.
    The confusable `_unknown_` train clips (size.confusable_reps), then the foreign-accent ones
    (size.foreign_accent_reps, spoken as foreign[word] = (phonemes, languages), foreign_words), come after all of
    them, each from their own generator."""
    rng = np.random.default_rng(seed)
    pool = list(rng.permutation(sorted(all_variants)))[:size.max_variants]
    by_split = split_variants(pool, rng)
    by_accent = split_accents(accents)
    specs: list[ClipSpec] = []
    for split in ("train", "val", "test"):
        for variant in by_split[split]:
            specs += _variant_specs(split, variant, size.reps, rng, by_split, by_accent, len(specs))
    extra = np.random.default_rng([seed, 1])
    for variant in by_split["train"] if size.train_extra_reps else ():
        specs += _variant_specs("train", variant, size.train_extra_reps, extra, by_split, by_accent, len(specs))
    generated = np.random.default_rng([seed, 2])
    for variant in generated_names(size.generated_voices):
        specs += _variant_specs("train", variant, size.generated_reps, generated, by_split, by_accent, len(specs),
                                generated=True)
    confusable = np.random.default_rng([seed, 4])  # (seed, 3) draws the generated voices' files
    for variant in by_split["train"] if size.confusable_reps else ():
        specs += _variant_specs("train", variant, 0, confusable, by_split, by_accent, len(specs),
                                words=[w for w in CONFUSABLE for _ in range(size.confusable_reps)])
    if size.foreign_accent_reps and not foreign:
        raise ValueError("kws data: foreign_accent_reps needs the foreign words table (foreign_words)")
    accented = np.random.default_rng([seed, 5])
    for variant in by_split["train"] if size.foreign_accent_reps else ():
        specs += _variant_specs("train", variant, size.foreign_accent_reps, accented, by_split, by_accent,
                                len(specs), foreign=foreign)
    specs = thin_colouring(specs, size.colour_keep, np.random.default_rng([seed, 6]))
    specs, by_split, dropped = _drop_train_speakers(specs, by_split, same_speaker or {})
    return specs, {"variants": by_split, "accents": by_accent, "generated": generated_names(size.generated_voices),
                   "same_speaker_dropped": dropped}


def thin_colouring(specs: list[ClipSpec], keep: float, rng: np.random.Generator) -> list[ClipSpec]:
    """specs with each train clip's planned room and channel kept with probability keep (two draws per clip that
    has either, in clip order; none when keep is 1). Thinned after planning, so the main generator draws as
    before and every val/test clip stays as it was: val/test have neither (README, Data)."""
    if keep == 1:
        return specs
    out = []
    for s in specs:
        if s.split == "train" and s.word and (s.room or s.channel):
            s = replace(s, room=s.room if rng.random() < keep else "",
                        channel=s.channel if rng.random() < keep else "")
        out.append(s)
    return out


def foreign_words(languages: tuple[str, ...] = FOREIGN_ACCENTS) -> dict[str, tuple[str, list[str]]]:
    """{word: (foreign phonemes, the languages that speak them)} for every word a clip may say; a word no
    language speaks is an error (the foreign clips would silently lose a class)."""
    words = list(dict.fromkeys([*KEYWORDS, *UNKNOWN_WORDS, *CONFUSABLE]))  # "dog" is in both lists
    langs = speakable(words, languages)
    mute = [w for w in words if not langs[w]]
    if mute:
        raise ValueError(f"kws data: no foreign accent of {', '.join(languages)} speaks {', '.join(mute)}")
    return {w: (foreign_phonemes(w), langs[w]) for w in words}


def _drop_train_speakers(specs: list[ClipSpec], by_split: dict[str, list[str]], same_speaker: dict[str, str]
                         ) -> tuple[list[ClipSpec], dict[str, list[str]], dict[str, list[str]]]:
    """Leave out val/test variants that sound like a train variant: (specs, by_split, {variant: train twins})."""
    twins = {v: [t for t in by_split["train"] if t != v and same_speaker.get(t, t) == same_speaker.get(v, v)]
             for s in ("val", "test") for v in by_split[s]}
    dropped = {v: t for v, t in twins.items() if t}
    kept = {s: [v for v in names if v not in dropped] for s, names in by_split.items()}
    return [s for s in specs if s.split == "train" or s.variant not in dropped], kept, dropped


def _speech(word: str, voice: str, speed: int, pitch: int, amplitude: int = 100, *,
            data_path: Path | None = None) -> np.ndarray:
    """One word at 16 kHz with espeak-ng's leading and trailing silence removed."""
    x, rate = synthesize(word, voice, speed, pitch, amplitude, data_path=data_path)
    return trim_silence(resample(x, rate, SAMPLE_RATE_HZ))


def trim_silence(x: np.ndarray) -> np.ndarray:
    """x without the leading and trailing samples under 1 % of its peak (a synthesizer's silence)."""
    idx = np.flatnonzero(np.abs(x) > 0.01 * max(np.abs(x).max(), 1e-9))
    return x[idx[0]:idx[-1] + 1] if len(idx) else x


def place(x: np.ndarray, rng: np.random.Generator, n: int = CLIP_SAMPLES) -> np.ndarray:
    """Put x at a random offset in n samples (time shift); a word longer than n is cut at the end."""
    out = np.zeros(n, dtype=np.float32)
    x = x[:n]
    start = int(rng.integers(0, n - len(x) + 1))
    out[start:start + len(x)] = x
    return out


_NOISES = {"hum": hum, "fan": fan, "street": street, "music": music}


def _noise(spec: ClipSpec, rng: np.random.Generator) -> np.ndarray:
    if spec.noise != "babble":
        return noise_clip(spec.noise, rng)
    return babble([_speech(w, _voice_arg(v), s, p) for w, v, s, p in spec.babble], rng)


def babble(words: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS sum of `words`, each placed at its own random offset in the clip (in their order)."""
    x = sum(place(w, rng) for w in words)
    return (x / max(np.sqrt(np.mean(x ** 2)), 1e-9)).astype(np.float32)


def _write(x: np.ndarray, out_dir: str, rel: str) -> str:
    """Write x (scaled down to peak 0.99 if louder) as 16-bit PCM at out_dir/rel; returns rel."""
    peak = float(np.abs(x).max())
    if peak > 0.99:
        x = x * np.float32(0.99 / peak)
    path = Path(out_dir) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, SAMPLE_RATE_HZ, subtype="PCM_16")
    return rel


def noise_clip(kind: str, rng: np.random.Generator, n: int = CLIP_SAMPLES) -> np.ndarray:
    """Unit-RMS noise of one of NOISE_KINDS but babble (which needs speech: see _noise)."""
    if kind in COLOURS:
        return coloured_noise(n, COLOURS[kind], rng)
    return _NOISES[kind](n, SAMPLE_RATE_HZ, rng)


@lru_cache(maxsize=1)
def _accent_files() -> dict[str, str]:
    """Accent (English, or a foreign language) -> voice file; the English ones as accent_voice_files has them."""
    return {**language_voice_files(), **accent_voice_files()}


def _espeak_voice(spec: ClipSpec, out_dir: str) -> tuple[str, Path | None]:
    """(-v argument, --path) of a clip's speaker (a generated one lives in the data set's VOICES_DIR)."""
    voice = _voice_arg(f"{spec.accent}+{spec.variant}")
    return voice, data_path_for(Path(out_dir) / VOICES_DIR, spec.variant) if spec.generated else None


def _voice_arg(voice: str) -> str:
    """`accent+variant` -> `-v` argument `<accent's voice file>+variant`, the form that keeps the variant for every
    accent (espeak-ng 1.51 drops it from `en-gb+variant`; for the other accents both forms give the same bytes)."""
    accent, variant = voice.split("+", 1)
    return f"{_accent_files()[accent]}+{variant}"


def render(spec: ClipSpec, out_dir: str) -> ClipRecord:
    """Synthesize, shift, mix and write one clip (runs in a worker process)."""
    rng = np.random.default_rng(spec.seed)
    voice = f"{spec.accent}+{spec.variant}"
    noise = _noise(spec, rng) if spec.noise else None
    extra = {"word": spec.word, "accent": spec.accent, "variant": spec.variant, "speed_wpm": spec.speed_wpm,
             "pitch": spec.pitch, "amplitude": spec.amplitude, "room": spec.room, "channel": spec.channel}
    if spec.word:
        voice_arg, data_path = _espeak_voice(spec, out_dir)
        text = f"[[{spec.phonemes}]]" if spec.phonemes else spec.word
        speech = _speech(text, voice_arg, spec.speed_wpm, spec.pitch, spec.amplitude, data_path=data_path)
        if spec.phonemes:
            extra["phonemes"] = spec.phonemes
        extra["speech_samples"] = int(min(len(speech), CLIP_SAMPLES))
        x = place(speech, rng)
        if spec.room:
            x = reverberate(x, room_impulse_response(float(rng.uniform(*ROOMS[spec.room])), SAMPLE_RATE_HZ, rng))
        if spec.channel:
            x = random_channel(x, spec.channel, SAMPLE_RATE_HZ, rng)
        if spec.split == "train":  # the same speech before noise: training mixes fresh noise into it per epoch
            extra["clean_path"] = _write(x, out_dir, spec.path.replace("wav/", "clean/", 1))
        x = mix_at_snr(x, noise, spec.snr_db) if noise is not None else x
    else:
        x = noise * np.float32(10 ** (spec.level_dbfs / 20))
        extra["level_dbfs"] = spec.level_dbfs
    _write(x, out_dir, spec.path)
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


def dataset_key(seed: int, size: DatasetSize) -> dict:
    """What a cached set must match. Without generated voices, confusable or foreign-accent clips or thinned
    rooms/channels their fields are left out, so a size of before them keeps its key (and caches of version 4 stay
    valid)."""
    fields = asdict(size)
    if not size.generated_voices:
        fields = {k: v for k, v in fields.items() if not k.startswith("generated_")}
    if not size.confusable_reps:
        fields.pop("confusable_reps")
    if not size.foreign_accent_reps:
        fields.pop("foreign_accent_reps")
    if size.colour_keep == 1:
        fields.pop("colour_keep")
    key = {"version": DATASET_VERSION, "seed": seed, "size": fields, "espeak": espeak_version()}
    if size.foreign_accent_reps:
        key["foreign_accents"] = {"languages": list(FOREIGN_ACCENTS), "substitutes": [list(s) for s in SUBSTITUTES]}
    return key


def build(out_dir: str | Path, seed: int, size: DatasetSize, progress: bool = True, workers: int = 2) -> Manifest:
    """Build (or reuse the cached) data set of the given size in out_dir; see the module docstring."""
    out = Path(out_dir)
    key = dataset_key(seed, size)
    cached = _cached(out, key)
    if cached is not None:
        return cached
    if (out / "manifest.json").is_file() and (out / "wav").is_dir():
        for stale in ("wav", "clean", VOICES_DIR):  # our own stale clips
            shutil.rmtree(out / stale, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    accents = english_accents()
    names = variants()
    same_speaker = same_sounding_variants(_accent_files()[next(a for a in accents if a in _accent_files())], names)
    foreign = foreign_words() if size.foreign_accent_reps else None
    specs, split = plan(seed, size, accents, names, same_speaker, foreign)
    if split["generated"]:  # (seed, 1) and (seed, 2) are plan's generators
        write_data_dirs(out / VOICES_DIR, variant_texts(split["generated"], (seed, 3)))
    jobs = [(s, str(out)) for s in specs]
    records = map_in_processes(render, jobs, workers=workers, desc="kws data (espeak-ng)", progress=progress,
                               chunksize=16)
    meta = {**key, "name": "kws_espeak", "source": "built-in: espeak-ng synthesis",
            "sample_rate_hz": SAMPLE_RATE_HZ, "clip_samples": CLIP_SAMPLES, "accents": accents,
            "variants": split["variants"], "accents_by_split": split["accents"], "held_out_accent": HELD_OUT_ACCENT,
            "same_sounding_variants": same_speaker, "same_speaker_dropped": split["same_speaker_dropped"],
            "split_rule": "espeak-ng variants (speaker characters) are disjoint across train/val/test "
                          f"({SPLIT_FRACTIONS}) and accent {HELD_OUT_ACCENT} is in test only "
                          f"({HELD_OUT_TEST_SHARE:.0%} of test clips)",
            "snr_db": {s: list(r) for s, r in SNR_DB.items()}, "noisy_fraction": NOISY_FRACTION,
            "train_rooms": {"p": ROOM_P * size.colour_keep, "rt60_s": ROOMS},
            "train_channels": {"p": CHANNEL_P * size.colour_keep, "kinds": CHANNELS},
            "unknown_words": {"confusable": CONFUSABLE, "speech_commands": UNKNOWN_WORDS},
            "snr_definition": "10*log10(mean power over the spoken word / mean power of the noise over 1 s)",
            "noise_kinds": list(NOISE_KINDS), "silence_rms_dbfs": list(SILENCE_RMS_DBFS),
            "speed_wpm": list(SPEED_WPM), "pitch": list(PITCH), "amplitude": list(AMPLITUDE),
            "build_seconds": round(time.perf_counter() - t0, 1)}
    if split["generated"]:  # left out without them: the manifest of a set of before stays as it was
        meta["generated_variants"] = {"train": split["generated"]}
    if foreign:
        meta["foreign_accent_words"] = {w: {"phonemes": p, "languages": langs} for w, (p, langs) in foreign.items()}
    manifest = Manifest(root=out, classes=CLASSES, clips=tuple(records), meta=meta)
    manifest.meta["counts"] = manifest.counts()
    manifest.save(out / "manifest.json")
    return manifest


def build_dataset(out_dir: str | Path, seed: int = 0, quick: bool = False, progress: bool = True) -> Manifest:
    """`python -m apps.kws data`: the full set (12,740 clips) or the quick one (36,348: fewer val/test clips, more
    train clips)."""
    return build(out_dir, seed, QUICK if quick else FULL, progress=progress)

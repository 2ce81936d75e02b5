"""New espeak-ng speaker characters drawn from a seed, written into a private espeak-ng data folder.

espeak-ng ships about 99 variants (`voices/!v/`); a model trained on some of them learns those speakers and
generalizes worse to others. A variant is a small text file (pitch band, a frequency/height/width scale per
formant, roughness, flutter, breath, voicing, consonant strength, Klatt synthesis, echo), so many plausible
speakers can be drawn: a vocal-tract scale per speaker (male, female or child ranges) jittered per formant, a
pitch band that matches it, and voice-quality settings within the ranges the shipped variants use.
`write_data_dirs` makes folders whose `espeak-ng-data` links every entry of the installed data except `voices/`,
which holds only generated variants (`!v/`); `synthesize(..., data_path=data_path_for(root, name))` then speaks
with one. espeak-ng lists at most 349 voice files (N_VOICES_LIST; language files included, 131 in 1.51) and
fails ("voice does not exist") beyond, so the variants are spread over folders of VARIANTS_PER_DIR, and the
MBROLA voice files (`voices/mb`, not needed for the variants) are left out.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from tinycore.audio.espeak import espeak_data_dir

# (share, vocal-tract scale of formant frequencies, lowest pitch in Hz): male, female, child
SPEAKER_KINDS = {"male": (0.45, (0.86, 1.00), (60, 110)), "female": (0.45, (1.03, 1.18), (130, 210)),
                 "child": (0.10, (1.15, 1.28), (190, 260))}
FORMANT_JITTER = 0.035     # per-formant relative spread around the speaker's scale
PITCH_SPAN = (1.25, 1.9)   # upper / lower pitch of the band
KLATT_P, KLATT_KINDS = 0.25, (1, 2, 3, 4, 5, 6)
WHISPER_P = 0.05           # breathy, weakly voiced speakers (as the shipped whisper variants)
VARIANTS_PER_DIR = 100     # + 131 language files stays under espeak-ng's 349 voice files


def _formant_lines(scale: float, rng: np.random.Generator) -> list[str]:
    lines = []
    for n in range(9):
        freq = 100 * scale * (1 + FORMANT_JITTER * rng.standard_normal()) if 1 <= n <= 5 else 100 * scale
        height = rng.uniform(75, 125) if n <= 3 else rng.uniform(70, 130)
        width = rng.uniform(80, 160)
        lines.append(f"formant {n} {round(freq)} {round(height)} {round(width)}")
    return lines


def random_variant(name: str, rng: np.random.Generator) -> str:
    """The text of one espeak-ng variant file: a plausible speaker drawn from rng (fixed draw order)."""
    kinds = list(SPEAKER_KINDS)
    kind = kinds[int(rng.choice(len(kinds), p=[SPEAKER_KINDS[k][0] for k in kinds]))]
    _, (lo, hi), (p_lo, p_hi) = SPEAKER_KINDS[kind]
    scale = float(rng.uniform(lo, hi))
    base = float(rng.uniform(p_lo, p_hi))
    lines = ["language variant", f"name {name}", f"gender {'male' if kind == 'male' else 'female'}",
             f"pitch {round(base)} {round(base * rng.uniform(*PITCH_SPAN))}", *_formant_lines(scale, rng),
             f"consonants {round(rng.uniform(60, 125))} {round(rng.uniform(60, 125))}"]
    roughness, flutter = int(rng.integers(0, 6)), int(rng.integers(0, 21))
    lines += [f"roughness {roughness if rng.random() < 0.5 else 0}", f"flutter {flutter if rng.random() < 0.5 else 0}"]
    if rng.random() < WHISPER_P:
        lines += [f"voicing {round(rng.uniform(20, 50))}",
                  "breath " + " ".join(str(round(v)) for v in np.sort(rng.uniform(5, 75, 6))[::-1])]
    else:
        lines.append(f"voicing {round(rng.uniform(70, 150))}")
    klatt = int(rng.choice(KLATT_KINDS))
    if rng.random() < KLATT_P:
        lines.append(f"klatt {klatt}")
    delay, amp = int(rng.integers(10, 141)), int(rng.integers(5, 21))
    if rng.random() < 0.2:
        lines.append(f"echo {delay} {amp}")
    return "\n".join(lines) + "\n"


def generated_names(n: int, prefix: str = "gen") -> list[str]:
    """Names of n generated variants (usable after '+', distinct from the shipped ones)."""
    return [f"{prefix}{i:04d}" for i in range(n)]


def data_path_for(root: Path, name: str) -> Path:
    """The `--path` folder under root that holds generated variant `name` (from generated_names)."""
    return root / str(int(name[-4:]) // VARIANTS_PER_DIR)


def variant_texts(names: list[str], seed: Sequence[int]) -> dict[str, str]:
    """name -> variant file text; the i-th from its own generator (*seed, i), so a longer list keeps the first."""
    return {name: random_variant(name, np.random.default_rng([*seed, i])) for i, name in enumerate(names)}


def write_data_dirs(root: Path, texts: dict[str, str]) -> Path:
    """Folders root/<k>/espeak-ng-data: the installed data linked entry by entry, with `voices/!v/` holding the
    generated variants of texts that data_path_for places there (names from generated_names).

    Returns root. Rewritten from scratch (stale variants never linger)."""
    system = espeak_data_dir()
    shutil.rmtree(root, ignore_errors=True)
    for name, text in texts.items():
        data = data_path_for(root, name) / "espeak-ng-data"
        if not data.is_dir():
            (data / "voices" / "!v").mkdir(parents=True)
            for entry in system.iterdir():
                if entry.name != "voices":
                    (data / entry.name).symlink_to(entry)
        (data / "voices" / "!v" / name).write_text(text)
    return root

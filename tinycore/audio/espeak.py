"""Offline speech from espeak-ng (the Debian package): the voices it has and one word as a waveform.

A voice is an accent (a language voice such as en-gb-scotland: pronunciation rules) plus a variant (+m3, +f2,
+klatt, ...: the speaker character: formants, pitch range, breathiness). MBROLA accents are skipped unless their
voice data is installed, since espeak-ng then produces no sound for them.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tinycore.audio.wav import DataError

MBROLA_DIR = Path("/usr/share/mbrola")


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DataError("espeak-ng not found: the built-in speech data set needs it (apt-get install espeak-ng)")
    return exe


def espeak_version() -> str:
    return subprocess.run([_espeak(), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def espeak_data_dir() -> Path:
    """The espeak-ng-data folder the installed espeak-ng reads (its `--version` line names it)."""
    line = espeak_version()
    if "Data at:" not in line:
        raise DataError(f"espeak-ng --version does not name its data folder: {line!r}")
    return Path(line.split("Data at:", 1)[1].strip())


def _voice_table(arg: str) -> list[list[str]]:
    out = subprocess.run([_espeak(), arg], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()[1:] if line.strip()]


def english_accents() -> list[str]:
    """Names of every English language voice (`espeak-ng --voices=en`) that can speak, sorted."""
    names = set()
    for row in _voice_table("--voices=en"):
        # columns: Pty Language Age/Gender VoiceName File [Other languages]
        if len(row) < 5 or row[1] == "variant":
            continue
        lang, file = row[1], row[4]
        if file.startswith("mb/"):  # mb/mb-de1-en needs MBROLA voice data /usr/share/mbrola/de1
            if (MBROLA_DIR / file.split("/")[1][3:6]).exists():
                names.add(file.split("/")[1])
        else:
            names.add(lang)
    return sorted(names)


def accent_voice_files() -> dict[str, str]:
    """Accent name -> its voice file (`en-gb` -> `gmw/en`): the form of `-v` that keeps a `+variant`.

    espeak-ng 1.51 drops the variant of `-v en-gb+f2` (the output equals `-v en-gb`), while `-v gmw/en+f2` applies
    it; the other English accent names keep theirs."""
    return _voice_files("--voices=en")


def language_voice_files() -> dict[str, str]:
    """Every language voice (`espeak-ng --voices`) -> its voice file (`de` -> `gmw/de`), MBROLA ones left out."""
    return _voice_files("--voices")


def _voice_files(arg: str) -> dict[str, str]:
    files: dict[str, str] = {}
    for row in _voice_table(arg):
        if len(row) >= 5 and row[1] != "variant" and not row[4].startswith("mb/"):
            files.setdefault(row[1], row[4])
    return files


def phonemes(text: str, voice: str) -> str:
    """espeak-ng's phoneme mnemonics of text (`-x`: "left" -> "l'Eft" in en-us); text in `[[...]]` is read as
    phonemes, so a phoneme string comes back unchanged only if voice's phoneme table has every one of them."""
    out = subprocess.run([_espeak(), "-q", "-v", voice, "-x", text], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise DataError(f"espeak-ng -x failed for voice {voice!r}, text {text!r}: {out.stderr[:200]}")
    return " ".join(out.stdout.split())


def variants() -> list[str]:
    """Names usable after '+' (`espeak-ng --voices=variant`: the File column after '!v/'), sorted.

    Names with a space (e.g. 'Mr serious') are skipped: they cannot be written in `-v accent+variant`."""
    out = subprocess.run([_espeak(), "--voices=variant"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    lo, hi = lines[0].index("File"), lines[0].index("Other")
    names = {line[lo:hi].strip()[3:] for line in lines[1:] if line[lo:hi].strip().startswith("!v/")}
    return sorted(n for n in names if n and " " not in n)


def synthesize(text: str, voice: str, speed_wpm: int = 175, pitch: int = 50, amplitude: int = 100, *,
               data_path: Path | None = None) -> tuple[NDArray[np.float32], int]:
    """(samples in [-1, 1), sample rate) of `text` spoken by `voice` ("en-gb+m3"). Deterministic.

    data_path: the folder holding another espeak-ng-data (`--path`), e.g. one with generated variants."""
    path = [f"--path={data_path}"] if data_path is not None else []
    cmd = [_espeak(), *path, "-v", voice, "-s", str(speed_wpm), "-p", str(pitch), "-a", str(amplitude), "--stdout",
           text]
    res = subprocess.run(cmd, capture_output=True, check=False)
    if res.returncode != 0 or len(res.stdout) < 44:
        raise DataError(f"espeak-ng failed for voice {voice!r}, text {text!r}: {res.stderr.decode()[:200]}")
    raw = res.stdout
    # streamed WAV: the header's sizes are placeholders, so read the fmt chunk and take everything after 'data'
    rate = int.from_bytes(raw[24:28], "little")
    data = raw.find(b"data")
    pcm = np.frombuffer(raw[data + 8:len(raw) - (len(raw) - data - 8) % 2], dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate


SPEAKER_PROBES = (("left", 175, 50), ("stop", 120, 20), ("yes", 230, 90))  # (word, wpm, pitch)


def same_sounding_variants(voice: str, names: list[str],
                           probes: tuple[tuple[str, int, int], ...] = SPEAKER_PROBES) -> dict[str, str]:
    """{variant: the first (sorted) variant that sounds the same} for variants whose output equals another's.

    Some shipped variant files set nothing espeak-ng 1.51 applies differently (`caleb`, `klatt` and `klatt6` speak
    alike), so they are one speaker: a data set split by variant must keep them on one side. voice is the accent's
    voice file (`gmw/en-US`), the form that keeps a `+variant`; variants are compared by their exact samples on
    a few words at different speeds and pitches."""
    groups: dict[bytes, list[str]] = {}
    for name in sorted(names):
        key = b"".join(synthesize(w, f"{voice}+{name}", s, p)[0].tobytes() for w, s, p in probes)
        groups.setdefault(key, []).append(name)
    return {n: g[0] for g in groups.values() if len(g) > 1 for n in g}

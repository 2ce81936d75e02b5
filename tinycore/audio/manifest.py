"""A list of labelled audio clips (built-in or on disk) with their split and speaker, saved as one JSON file.

Both audio apps describe a data set this way: the built-in KWS set writes wavs + manifest.json; the Speech
Commands loader builds one over the files in --data-dir without copying them. A clip can be a window of a longer
file (`start_sample`, `num_samples`), e.g. 1 s of a background-noise recording used as `_silence_`.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from tinycore.audio.wav import DataError, pad_or_trim, read_wav

MANIFEST_VERSION = 1
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ClipRecord:
    path: str                   # relative to the manifest root (or absolute)
    label: str
    split: str                  # train | val | test
    voice: str                  # speaker id, or espeak-ng "accent+variant"
    start_sample: int = 0       # window start in the file, at the file's rate
    num_samples: int = 0        # window length; 0 = the whole file
    snr_db: float | None = None  # SNR of the mixed-in noise; None = not mixed at build time
    noise: str = ""             # kind of noise mixed in
    extra: dict = field(default_factory=dict, compare=False)  # synthesis settings etc.


@dataclass(frozen=True)
class Manifest:
    root: Path
    classes: tuple[str, ...]  # label order = class index
    clips: tuple[ClipRecord, ...]
    meta: dict = field(default_factory=dict, compare=False)

    def split(self, name: str) -> list[ClipRecord]:
        return [c for c in self.clips if c.split == name]

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {label: clips}} for report.json and the README."""
        out: dict[str, dict[str, int]] = {}
        for s in SPLITS:
            cnt = Counter(c.label for c in self.clips if c.split == s)
            out[s] = {label: cnt.get(label, 0) for label in self.classes}
        return out

    def labels(self, records: list[ClipRecord]) -> NDArray[np.int64]:
        index = {label: i for i, label in enumerate(self.classes)}
        return np.array([index[r.label] for r in records], dtype=np.int64)

    def read_clip(self, record: ClipRecord, sample_rate_hz: int, clip_samples: int) -> NDArray[np.float32]:
        """One clip, zero-padded or cut to clip_samples (short Speech Commands clips are padded)."""
        path = Path(record.path)
        path = path if path.is_absolute() else self.root / path
        x = read_wav(path, sample_rate_hz, start_sample=record.start_sample,
                     num_samples=record.num_samples or None)
        return pad_or_trim(x, clip_samples)

    def load_split(self, name: str, sample_rate_hz: int = 16000, clip_samples: int = 16000,
                   progress: bool = True) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """(N, clip_samples) float32 waveforms and (N,) class indices of one split, in manifest order."""
        records = self.split(name)
        x = np.zeros((len(records), clip_samples), dtype=np.float32)
        for i, r in enumerate(tqdm(records, desc=f"read {name}", disable=not progress, leave=False)):
            x[i] = self.read_clip(r, sample_rate_hz, clip_samples)
        return x, self.labels(records)

    def check_classes(self, where: str, splits: tuple[str, ...] = SPLITS) -> None:
        """Every class has clips in each of `splits`, or a DataError names the class and split."""
        for s, per in self.counts().items():
            if s not in splits:
                continue
            empty = [label for label, n in per.items() if n == 0]
            if empty:
                raise DataError(f"{where}: no {s} clips for class(es) {', '.join(empty)}; "
                                f"check the folder layout and the split lists")

    def save(self, path: str | Path) -> Path:
        """Write JSON atomically (temp file + rename) so a crash never leaves half a manifest."""
        path = Path(path)
        root = "." if self.root.resolve() == path.parent.resolve() else str(self.root.resolve())
        doc = {"version": MANIFEST_VERSION, "root": root, "classes": list(self.classes), "meta": self.meta,
               "clips": [asdict(c) for c in self.clips]}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Manifest":
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: cannot read manifest ({e})") from None
        if doc.get("version") != MANIFEST_VERSION:
            raise DataError(f"{path}: manifest version {doc.get('version')}, expected {MANIFEST_VERSION}; "
                            f"rebuild the data set")
        root = path.parent if doc["root"] == "." else Path(doc["root"])
        clips = tuple(ClipRecord(**c) for c in doc["clips"])
        return cls(root=root, classes=tuple(doc["classes"]), clips=clips, meta=doc.get("meta", {}))

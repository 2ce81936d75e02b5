"""Read a machine-sound folder in the DCASE 2020 Task 2 layout (MIMII / ToyADMOS) as a Manifest.

Layout (the built-in set is written the same way, so one reader serves both):
    <root>/<machine type>/train/normal_id_XX_NNNNNNNN.wav
    <root>/<machine type>/test/normal_id_XX_NNNNNNNN.wav
    <root>/<machine type>/test/anomaly_id_XX_NNNNNNNN.wav
<root> may also be a DCASE `dev_data` parent holding the machine folders. Training uses normal clips only (as
the task defines). Validation: a `<machine>/val/{normal,anomaly}_id_XX_*.wav` folder when the machine has one (the
built-in set writes it: anomalous clips there let the choices be made without the test split), else the last
VAL_FRACTION of each ID's train clips (by file name; normal only, as a DCASE development set allows). Its normal
clips stop training and set the alarm thresholds; AUC on it needs its anomalous clips. Unlabelled eval files (`id_05_...wav`) and other names are skipped
with a notice. Clip records: label normal|anomaly, voice "<type>/id_XX".
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

from tinycore.audio.manifest import ClipRecord, Manifest
from tinycore.audio.wav import AudioNotice
from tinycore.errors import DataError

CLASSES = ("normal", "anomaly")
NAME_RE = re.compile(r"^(normal|anomaly)_id_(\d+)_(\d+)\.wav$")
VAL_FRACTION = 0.1
LAYOUT = ("<root>/<machine>/train/normal_id_XX_*.wav and <root>/<machine>/test/{normal,anomaly}_id_XX_*.wav "
          "(optional <root>/<machine>/val/{normal,anomaly}_id_XX_*.wav)")


def machine_dirs(root: Path) -> list[Path]:
    """Folders under root (or root/dev_data) that hold a train/ or test/ folder, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: data folder not found; --data-dir expects {LAYOUT}")
    base = root / "dev_data" if (root / "dev_data").is_dir() else root
    dirs = sorted(d for d in base.iterdir() if d.is_dir() and ((d / "train").is_dir() or (d / "test").is_dir()))
    if not dirs and ((root / "train").is_dir() or (root / "test").is_dir()):
        dirs = [root]  # root is itself one machine folder
    if not dirs:
        raise DataError(f"{root}: no machine folders with train/ or test/ inside; expected {LAYOUT}")
    return dirs


def _records(folder: Path, machine: str, split_dir: str) -> list[tuple[str, str, str, Path]]:
    """(label, id, number, path) of the labelled wavs of one folder; other files get one notice."""
    out, skipped = [], []
    for p in sorted(folder.glob("*.wav")):
        m = NAME_RE.match(p.name)
        if m is None or (split_dir == "train" and m.group(1) != "normal"):
            skipped.append(p.name)
            continue
        out.append((m.group(1), m.group(2), m.group(3), p))
    if skipped:
        warnings.warn(AudioNotice(f"{folder}: skipped {len(skipped)} file(s) not named "
                                  f"{'normal' if split_dir == 'train' else '{normal,anomaly}'}_id_XX_N.wav "
                                  f"(e.g. {skipped[0]})"), stacklevel=3)
    return out


def load_dcase(root: str | Path, extra: dict[str, dict] | None = None,
               splits: tuple[str, ...] = ("train", "val", "test")) -> Manifest:
    """Manifest over every machine folder of root; `extra` (file name relative to root -> dict) adds e.g. the
    anomaly kind of built-in clips. Only the folders of `splits` are read (train/ serves train and val), so a
    DCASE folder holding only <type>/test/ can be evaluated. Raises DataError naming the folder when a machine
    has no train or no test clips a split asks for; an ID with test clips of one label only gets a notice."""
    root = Path(root)
    want_train, want_test = bool({"train", "val"} & set(splits)), "test" in splits
    clips: list[ClipRecord] = []
    for d in machine_dirs(root):
        machine = d.name
        train = _records(d / "train", machine, "train") if want_train and (d / "train").is_dir() else []
        test = _records(d / "test", machine, "test") if want_test and (d / "test").is_dir() else []
        if want_train and not train:
            raise DataError(f"{d / 'train'}: no normal_id_XX_*.wav training clips for machine {machine!r}; "
                            f"expected {LAYOUT}")
        if want_test and not test:
            raise DataError(f"{d / 'test'}: no labelled test clips for machine {machine!r}; expected {LAYOUT}")
        own_val = want_train and (d / "val").is_dir()
        if own_val:
            val = _records(d / "val", machine, "val")
            if not any(label == "normal" for label, *_ in val):
                raise DataError(f"{d / 'val'}: no normal_id_XX_*.wav clips to stop training and set the alarm "
                                f"threshold on; expected {LAYOUT}")
            clips.extend(_clip(root, p, label, "val", machine, mid, extra) for label, mid, _, p in val
                         if "val" in splits)
        by_id: dict[str, list] = {}
        for rec in train:
            by_id.setdefault(rec[1], []).append(rec)
        for mid, recs in sorted(by_id.items()):
            n_val = 0 if own_val else max(1, int(round(VAL_FRACTION * len(recs)))) if len(recs) > 1 else 0
            for i, (label, _, num, p) in enumerate(recs):
                split = "val" if i >= len(recs) - n_val else "train"
                if split in splits:
                    clips.append(_clip(root, p, label, split, machine, mid, extra))
        labels_per_id: dict[str, set] = {}
        for label, mid, num, p in test:
            labels_per_id.setdefault(mid, set()).add(label)
            clips.append(_clip(root, p, label, "test", machine, mid, extra))
        one_sided = sorted(mid for mid, s in labels_per_id.items() if len(s) < 2)
        if one_sided:
            warnings.warn(AudioNotice(f"{d / 'test'}: id(s) {', '.join(one_sided)} have only one label; their "
                                      f"AUC is not defined and they are left out of the per-ID table"), stacklevel=2)
    return Manifest(root=root, classes=CLASSES, clips=tuple(clips),
                    meta={"name": "dcase2020_task2_layout", "source": str(root.resolve()),
                          "split_rule": f"train/test folders; val = the val/ folder (normal and anomalous clips) where a machine "
                                        f"has one, else the last {VAL_FRACTION:.0%} of each ID's train clips (normal only)",
                          "machines": sorted({c.voice.split('/')[0] for c in clips})})


def _clip(root: Path, p: Path, label: str, split: str, machine: str, mid: str,
          extra: dict[str, dict] | None) -> ClipRecord:
    rel = p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)
    info = {"machine": machine, "id": mid, **((extra or {}).get(rel, {}))}
    return ClipRecord(path=rel, label=label, split=split, voice=f"{machine}/id_{mid}", extra=info)

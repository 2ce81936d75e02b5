"""Google Speech Commands v0.02 on disk (--data-dir) as a 12-class Manifest, and its train-time noise mixing.

Layout (/work/shared/notes/datasets.md, section 1): <root>/<word>/<speaker>_nohash_<n>.wav,
<root>/_background_noise_/*.wav, <root>/validation_list.txt, <root>/testing_list.txt (lines "no/x_nohash_0.wav").
- Split: a wav listed in validation_list.txt is val, in testing_list.txt test, in neither train.
- Classes (MLPerf/TFDS order): the 10 keywords, `_silence_`, `_unknown_` (every other word, not subsampled).
- `_silence_`: 1 s windows of each background-noise file, hop 0.5 s. running_tap.wav goes to val (as MLPerf);
  doing_the_dishes.wav to test (MLPerf takes test silence from a separate test archive, which this layout does
  not have); the other files to train. Train-time mixing uses only the train noise files.
- Clips shorter than 1 s are zero-padded at read time; other rates are resampled with a notice.
The official test archive (speech_commands_test_set_v0.02: the 10 keyword folders, `_silence_/`, `_unknown_/`, no
split lists) is an evaluation-only folder: every clip is test, folder name = label, in the same label order.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from tinycore.audio.manifest import ClipRecord, Manifest
from tinycore.audio.wav import DataError, read_wav

KEYWORDS = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes")
CLASSES = (*KEYWORDS, "_silence_", "_unknown_")  # MLPerf Tiny / TFDS label order: index = class id
UNKNOWN_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "bed", "bird",
                 "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow", "backward", "forward",
                 "follow", "learn", "visual")
BACKGROUND_DIR = "_background_noise_"
TEST_ARCHIVE_NAME = "speech_commands_test_set_v0.02"
SILENCE_SPLIT = {"running_tap.wav": "val", "doing_the_dishes.wav": "test"}  # every other noise file: train
SAMPLE_RATE_HZ = 16000
CLIP_SAMPLES = 16000
SILENCE_HOP_SAMPLES = 8000


def _read_list(path: Path) -> set[str]:
    if not path.is_file():
        raise DataError(f"{path}: split list not found; a Speech Commands v0.02 folder has validation_list.txt "
                        f"and testing_list.txt beside the word folders")
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def _silence_windows(path: Path, split: str, root: Path) -> list[ClipRecord]:
    """1 s windows every 0.5 s of one background-noise file, counted at the file's own rate."""
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as e:
        raise DataError(f"{path}: not a readable audio file ({e})") from None
    win = round(CLIP_SAMPLES * info.samplerate / SAMPLE_RATE_HZ)
    hop = round(SILENCE_HOP_SAMPLES * info.samplerate / SAMPLE_RATE_HZ)
    rel = str(path.relative_to(root))
    return [ClipRecord(rel, "_silence_", split, f"noise:{path.stem}", start_sample=s, num_samples=win)
            for s in range(0, info.frames - win + 1, hop)]


def is_test_archive(root: Path) -> bool:
    """The official test archive's layout: `_silence_/` and `_unknown_/` folders and no split lists."""
    return ((root / "_silence_").is_dir() and (root / "_unknown_").is_dir()
            and not (root / "testing_list.txt").exists() and not (root / "validation_list.txt").exists())


def load_test_archive(root: Path) -> Manifest:
    """Manifest of the official test archive: every <label>/<name>.wav is a test clip of class <label>."""
    others = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in CLASSES)
    if others:
        raise DataError(f"{root}: folder(s) {', '.join(others)} are not classes of the test archive layout "
                        f"(expected {', '.join(CLASSES)})")
    clips = [ClipRecord(f"{path.parent.name}/{path.name}", path.parent.name, "test",
                        path.name.split("_nohash_")[0], extra={"word": path.parent.name})
             for path in sorted(root.glob("*/*.wav"))]
    manifest = Manifest(root=root.resolve(), classes=CLASSES, clips=tuple(clips), meta={
        "name": TEST_ARCHIVE_NAME, "source": str(root.resolve()),
        "split_rule": "official test archive: every clip is test (evaluation only)"})
    manifest.check_classes(str(root), splits=("test",))
    return manifest


def load_speech_commands(data_dir: str | Path) -> Manifest:
    """Manifest of a Speech Commands v0.02 folder, or of the official test archive (no audio is read here;
    reading checks each file)."""
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"{root}: Speech Commands folder not found (--data-dir should hold the word folders, "
                        f"_background_noise_/ and the two split lists)")
    if is_test_archive(root):
        return load_test_archive(root)
    val = _read_list(root / "validation_list.txt")
    test = _read_list(root / "testing_list.txt")
    clips: list[ClipRecord] = []
    for path in sorted(root.glob("*/*.wav")):
        word = path.parent.name
        if word == BACKGROUND_DIR:
            continue
        rel = f"{word}/{path.name}"
        split = "val" if rel in val else "test" if rel in test else "train"
        label = word if word in KEYWORDS else "_unknown_"
        speaker = path.name.split("_nohash_")[0]
        clips.append(ClipRecord(rel, label, split, speaker, extra={"word": word}))
    noise_dir = root / BACKGROUND_DIR
    if not noise_dir.is_dir():
        raise DataError(f"{noise_dir}: folder not found; _silence_ clips are cut from its recordings")
    for path in sorted(noise_dir.glob("*.wav")):
        clips.extend(_silence_windows(path, SILENCE_SPLIT.get(path.name, "train"), root))
    manifest = Manifest(root=root.resolve(), classes=CLASSES, clips=tuple(clips), meta={
        "name": "speech_commands_v0.02", "source": str(root.resolve()),
        "split_rule": "validation_list.txt -> val, testing_list.txt -> test, others -> train",
        "silence": f"1 s windows, hop 0.5 s, of {BACKGROUND_DIR}/*.wav; {SILENCE_SPLIT}, others train",
        "train_noise": "mix_background: p=0.8, volume U(0, 0.1), train noise files only"})
    manifest.check_classes(str(root))
    return manifest


def train_noises(manifest: Manifest) -> list[NDArray[np.float32]]:
    """The whole background recordings whose windows are train `_silence_` clips (for mix_background)."""
    paths = sorted({c.path for c in manifest.clips if c.label == "_silence_" and c.split == "train"})
    return [read_wav(manifest.root / p, SAMPLE_RATE_HZ) for p in paths]


def mix_background(clips: NDArray[np.float32], noises: list[NDArray[np.float32]], rng: np.random.Generator,
                   p: float = 0.8, max_volume: float = 0.1) -> NDArray[np.float32]:
    """Train-time augmentation (MLPerf/TF): with probability p add a random 1 s noise window * U(0, max_volume).

    clips: (N, L); returns a new array. Use on train batches only.
    """
    out = np.array(clips, dtype=np.float32, copy=True)
    usable = [n for n in noises if len(n) >= out.shape[1]]
    if not usable:
        return out
    for i in range(len(out)):
        if rng.random() < p:
            n = usable[rng.integers(len(usable))]
            s = rng.integers(0, len(n) - out.shape[1] + 1)
            out[i] += rng.uniform(0, max_volume) * n[s:s + out.shape[1]]
    return out

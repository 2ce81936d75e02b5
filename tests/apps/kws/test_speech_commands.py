"""The Speech Commands v0.02 loader on a small fake tree written by the test."""
import numpy as np
import pytest
import soundfile as sf

from apps.kws.speech_commands import CLASSES, load_speech_commands, mix_background, train_noises
from tinycore.audio.wav import AudioNotice, DataError

WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed", "marvin"]
SPEAKERS = ["0a1b2c3d", "1f2e3d4c", "99aa88bb"]


def _wav(path, n=16000, value=1000, rate=16000, channels=1):
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.full((n, channels) if channels > 1 else n, value, np.int16)
    sf.write(path, x, rate, subtype="PCM_16")


@pytest.fixture
def tree(tmp_path):
    """12 words x 3 speakers; speaker 1 is validation, speaker 2 test; 'no' clips are 0.5 s long."""
    root = tmp_path / "sc"
    val, test = [], []
    for w_i, word in enumerate(WORDS):
        for s_i, spk in enumerate(SPEAKERS):
            rel = f"{word}/{spk}_nohash_0.wav"
            _wav(root / rel, n=8000 if word == "no" else 16000, value=100 * w_i + s_i)
            (val if s_i == 1 else test if s_i == 2 else []).append(rel)
    for name in ("white_noise", "pink_noise", "running_tap", "doing_the_dishes"):
        _wav(root / "_background_noise_" / f"{name}.wav", n=40000, value=7)
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    return root


def test_splits_labels_and_silence_windows(tree):
    m = load_speech_commands(tree)
    assert m.classes == CLASSES and CLASSES[:3] == ("down", "go", "left") and CLASSES[-2:] == ("_silence_", "_unknown_")
    counts = m.counts()
    for split in ("train", "val", "test"):
        assert all(counts[split][w] == 1 for w in CLASSES[:10])
        assert counts[split]["_unknown_"] == 2  # bed, marvin
    # 40000 samples -> windows at 0, 8000, ..., 24000: 4 per file; 2 train files, 1 val, 1 test
    assert (counts["train"]["_silence_"], counts["val"]["_silence_"], counts["test"]["_silence_"]) == (8, 4, 4)
    assert {c.voice for c in m.split("val") if c.label != "_silence_"} == {SPEAKERS[1]}
    assert {c.split for c in m.clips if c.path.startswith("_background_noise_/running_tap")} == {"val"}


def test_read_pads_short_clips_and_cuts_windows(tree):
    m = load_speech_commands(tree)
    x, y = m.load_split("test", progress=False)
    assert x.shape == (len(m.split("test")), 16000)
    i_no = [i for i, c in enumerate(m.split("test")) if c.label == "no"][0]
    assert y[i_no] == CLASSES.index("no")
    np.testing.assert_array_equal(x[i_no, :8000] * 32768, 100 * WORDS.index("no") + 2)
    np.testing.assert_array_equal(x[i_no, 8000:], 0)
    sil = [i for i, c in enumerate(m.split("test")) if c.label == "_silence_"]
    np.testing.assert_array_equal(x[sil] * 32768, 7)


def test_background_mixing_uses_train_noise_only(tree):
    m = load_speech_commands(tree)
    noises = train_noises(m)
    assert len(noises) == 2
    clips = np.zeros((200, 16000), np.float32)
    mixed = mix_background(clips, noises, np.random.default_rng(0))
    touched = np.abs(mixed).max(axis=1) > 0
    assert 0.7 < touched.mean() < 0.9  # p = 0.8
    assert np.abs(mixed).max() <= 0.1 * 7 / 32768 + 1e-9


def test_missing_folder_and_lists(tmp_path, tree):
    with pytest.raises(DataError, match="Speech Commands folder not found"):
        load_speech_commands(tmp_path / "nope")
    (tree / "testing_list.txt").unlink()
    with pytest.raises(DataError, match="testing_list.txt: split list not found"):
        load_speech_commands(tree)


def test_class_without_clips_is_named(tree):
    for p in (tree / "stop").glob("*.wav"):
        p.unlink()
    with pytest.raises(DataError, match="no train clips for class\\(es\\) stop"):
        load_speech_commands(tree)


def test_bad_wavs_are_named_when_read(tree):
    m = load_speech_commands(tree)
    rec = [c for c in m.split("train") if c.label == "yes"][0]
    _wav(tree / rec.path, channels=2)
    with pytest.raises(DataError, match=f"{rec.path}: has 2 channels"):
        m.load_split("train", progress=False)
    (tree / rec.path).write_bytes(b"")
    with pytest.raises(DataError, match=f"{rec.path}: not a readable audio file"):
        m.load_split("train", progress=False)
    _wav(tree / rec.path, n=8000, rate=8000)
    with pytest.warns(AudioNotice, match=f"{rec.path}: sample rate 8000 Hz, resampled to 16000 Hz"):
        x, _ = m.load_split("train", progress=False)
    assert x.shape[1] == 16000

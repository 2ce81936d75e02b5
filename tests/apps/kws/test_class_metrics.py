"""Per-class recall and the keyword -> `_unknown_` rate: in the KWS metrics and in the demo summary."""
from pathlib import Path

import numpy as np

from apps.kws.speech_commands import CLASSES
from apps.kws.task import keyword_to_unknown_rate
from tinycore.cli.app import demo_summary
from tinycore.metrics import classification_metrics
from tinycore.report import RunDir


def _confusion(pairs):
    cm = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    for (t, p), n in pairs.items():
        cm[CLASSES.index(t), CLASSES.index(p)] = n
    return cm.tolist()


def test_rate_counts_keywords_taken_for_unknown_only():
    cm = _confusion({("yes", "yes"): 6, ("yes", "_unknown_"): 2, ("no", "_unknown_"): 1, ("no", "go"): 1,
                     ("_unknown_", "_unknown_"): 10, ("_silence_", "_unknown_"): 5})
    assert keyword_to_unknown_rate(cm, tuple(CLASSES)) == 3 / 10  # silence and unknown rows do not count


def test_rate_without_keyword_clips_is_nan():
    assert np.isnan(keyword_to_unknown_rate(_confusion({("_unknown_", "_unknown_"): 3}), tuple(CLASSES)))


def test_demo_summary_names_each_class_and_the_rate(tmp_path):
    y = np.arange(len(CLASSES))
    logits = np.eye(len(CLASSES))[np.where(y == CLASSES.index("up"), CLASSES.index("_unknown_"), y)]
    m = classification_metrics(logits, y, tuple(CLASSES))
    m["keyword_to_unknown_rate"] = keyword_to_unknown_rate(m["confusion"], tuple(CLASSES))
    text = demo_summary(type("T", (), {"metric_name": "accuracy"})(), RunDir(Path(tmp_path)),
                        {"metrics": {"float": m, "int8": m}})
    assert "up 0.000" in text and "yes 1.000" in text
    assert "int8 keyword to unknown rate: 0.1000" in text  # 1 of the 10 keyword clips


def test_accuracy_per_accent_and_variant_from_the_manifest(tmp_path):
    from apps.kws.task import accuracy_by, evaluate
    from tinycore.audio.manifest import ClipRecord, Manifest
    from tinycore.task import TaskData

    accents = ["en-us", "en-gb-scotland", "en-us", "en-gb"]
    noises = [("babble", 3.0), ("", None), ("white", 25.0), ("babble", 4.99)]
    clips = tuple(ClipRecord(f"{i}.wav", CLASSES[i], "test", f"{a}+m{i % 2}", snr_db=snr, noise=kind,
                             extra={"accent": a, "variant": f"m{i % 2}"})
                  for i, (a, (kind, snr)) in enumerate(zip(accents, noises)))
    m = Manifest(Path(tmp_path), tuple(CLASSES), clips, {"held_out_accent": "en-gb-scotland"})
    y = np.arange(4)
    x = np.zeros((4, 1, 49, 10), np.float32)
    data = TaskData((x, y), (x, y), (x, y), (1, 49, 10), tuple(CLASSES), {}, {"manifest": m})
    wrong_second = np.eye(len(CLASSES))[[0, 3, 2, 3]]  # clip 1 (the Scottish one) misread
    met = evaluate(lambda _: wrong_second, data, "test", Path(tmp_path), "int8")
    assert met["per_accent"] == {"en-gb": {"accuracy": 1.0, "n": 1}, "en-gb-scotland": {"accuracy": 0.0, "n": 1},
                                 "en-us": {"accuracy": 1.0, "n": 2}}
    assert met["per_variant"] == {"m0": {"accuracy": 1.0, "n": 2}, "m1": {"accuracy": 0.5, "n": 2}}
    assert met["held_out_accent"] == "en-gb-scotland"
    assert met["per_noise"] == {"clean": {"accuracy": 0.0, "n": 1}, "white": {"accuracy": 1.0, "n": 1},
                                "babble": {"accuracy": 1.0, "n": 2}}  # clean first, then NOISE_KINDS' order
    assert met["per_snr_db"] == {"0-5": {"accuracy": 1.0, "n": 2}, "20-25": {"accuracy": 1.0, "n": 1}}
    assert accuracy_by(np.array([1, 1]), np.array([1, 0]), ["a", "a"]) == {"a": {"accuracy": 0.5, "n": 2}}
    text = demo_summary(type("T", (), {"metric_name": "accuracy"})(), RunDir(Path(tmp_path)),
                        {"metrics": {"float": met, "int8": met}})
    assert "en-gb-scotland (held out) 0.000" in text
    assert "int8 accuracy per noise kind: clean 0.000 (1), white 1.000 (1), babble 1.000 (2)" in text
    assert "int8 accuracy per SNR band (dB): 0-5 1.000 (2), 20-25 1.000 (1)" in text


def test_snr_bands_and_clips_left_out():
    from apps.kws.task import accuracy_by, snr_band
    assert [snr_band(v) for v in (0.0, 4.99, 5.0, 19.99, 20.0, 25.0)] == ["0-5", "0-5", "5-10", "15-20", "20-25",
                                                                          "20-25"]
    assert snr_band(None) is None and snr_band(25.5) is None and snr_band(-1.0) is None
    # a clip whose group is None (a _silence_ clip for the noise groups) counts nowhere
    assert accuracy_by(np.array([1, 1, 0]), np.array([1, 0, 0]), ["a", None, "a"]) == {"a": {"accuracy": 1.0, "n": 2}}
    assert list(accuracy_by(np.zeros(3), np.zeros(3), ["b", "a", "c"], order=("c", "b", "x", "a"))) == ["c", "b", "a"]

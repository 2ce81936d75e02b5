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

"""`export`/`eval` of a KWS run on public-data layouts: the run's remembered --data-dir, and the official test
archive (speech_commands_test_set_v0.02: evaluation only) kept under its own key in report.json."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from apps.kws.speech_commands import CLASSES, TEST_ARCHIVE_NAME, load_speech_commands
from tests.apps.kws.test_speech_commands import tree  # noqa: F401  (the fixture: a small v0.02 tree)
from tinycore.audio.wav import DataError
from tinycore.report import RunDir


def _archive(root, per_class: int = 2):
    """The test archive's layout: the 10 keyword folders, _silence_/ and _unknown_/, no split lists."""
    rng = np.random.default_rng(0)
    for c in CLASSES:
        for k in range(per_class):
            (root / c).mkdir(parents=True, exist_ok=True)
            sf.write(root / c / f"{k:08x}_nohash_{k}.wav", (rng.standard_normal(16000) * 0.1).astype(np.float32),
                     16000, subtype="PCM_16")
    return root


def _untrained_run(path, data_dir, cache_dir) -> RunDir:
    """A 12-class KWS run folder as `train --data-dir data_dir --cache-dir cache_dir` leaves it (weights untrained:
    these tests check which data are read and where the figures go, not accuracy)."""
    import torch

    from tinycore.spec import FC, Conv, Flatten, GlobalPool, InputSpec, ModelSpec, build_model, spec_to_json

    spec = ModelSpec(input=InputSpec(channels=1, height=49, width=10), name="tiny12",
                     stem=(Conv(8, kernel=(10, 4), stride=2, padding=(5, 1), act="relu"),),
                     head=(GlobalPool(), Flatten(), FC(len(CLASSES))))
    torch.manual_seed(0)
    run = RunDir(path)
    path.mkdir(parents=True)
    run.spec_path.write_text(spec_to_json(spec))
    torch.save({"model": build_model(spec).state_dict()}, run.checkpoint_path)
    run.update_report(app="kws", data_source={"data_dir": str(data_dir.resolve()),
                                              "cache_dir": str(cache_dir.resolve()), "quick": False, "seed": 0})
    return run


def _main(argv, capsys):
    from apps.kws.task import TASK
    from tinycore.cli.app import main

    rc = main(TASK, argv)
    return rc, *capsys.readouterr()


def test_archive_layout_is_all_test_in_the_apps_label_order(tmp_path):
    m = load_speech_commands(_archive(tmp_path / "arch"))
    assert m.meta["name"] == TEST_ARCHIVE_NAME and m.classes == CLASSES
    assert {c.split for c in m.clips} == {"test"} and len(m.clips) == 24
    recs = m.split("test")
    assert [int(v) for v in m.labels(recs)] == [CLASSES.index(r.path.split("/")[0]) for r in recs]
    assert sorted(int(v) for v in m.labels(recs)) == [i for i in range(12) for _ in range(2)]
    (tmp_path / "arch" / "marvin").mkdir()
    with pytest.raises(DataError, match="marvin are not classes of the test archive"):
        load_speech_commands(tmp_path / "arch")


def test_export_and_eval_use_the_runs_data_then_the_archive_under_its_own_key(tree, tmp_path, capsys):  # noqa: F811
    cache = tmp_path / "cache"
    run = _untrained_run(tmp_path / "run", tree, cache)
    rc, out, err = _main(["export", "--run", str(run.path), "--quiet"], capsys)
    assert rc == 0, err
    # calibration read the run's --data-dir (its train split only: 10 keywords + 2 unknown + 8 silence windows)
    (calib,) = cache.glob("features_*_train.npz")
    assert len(np.load(calib)["train_y"]) == 20 and not list(cache.glob("features_*_test.npz"))
    # over budget: the graph and report are still written, the command fails with the reason last
    run.graph_path.unlink()
    rc, out, err = _main(["export", "--run", str(run.path), "--quiet", "--sram", "1KB"], capsys)
    assert rc == 2 and "SRAM arena" in err.strip().splitlines()[-1] and "--sram 1,024 B" in err
    assert run.graph_path.is_file()
    rc, out, err = _main(["eval", "--run", str(run.path), "--quiet", "--json"], capsys)
    assert rc == 0, err
    own = json.loads(out)
    assert own["key"] == "speech_commands_v0.02:test"
    report = json.loads(run.report_path.read_text())
    assert report["metrics"]["int8"] == own["int8"]  # the run's own test split: its headline figures

    arch = _archive(tmp_path / "speech_commands_test_set_v0.02")
    rc, out, err = _main(["eval", "--run", str(run.path), "--data-dir", str(arch), "--quiet", "--json"], capsys)
    assert rc == 0, err
    other = json.loads(out)
    report = json.loads(run.report_path.read_text())
    assert set(report["evaluations"]) == {"speech_commands_v0.02:test", f"{TEST_ARCHIVE_NAME}:test"}
    got = report["evaluations"][f"{TEST_ARCHIVE_NAME}:test"]
    assert got["own_data"] is False and got["dataset"]["n_test"] == 24 and got["int8"] == other["int8"]
    assert np.array(got["int8"]["confusion"]).sum(axis=1).tolist() == [2] * 12  # folder = label, app's order
    assert report["metrics"]["int8"] == own["int8"]  # not overwritten by the other data
    assert (run.path / "evaluations" / f"{TEST_ARCHIVE_NAME}_test" / "confusion_int8.png").stat().st_size > 1000
    rc, out, err = _main(["eval", "--run", str(run.path), "--data-dir", str(arch), "--split", "val", "--quiet"],
                         capsys)
    assert rc == 2 and "no val clips" in err.strip().splitlines()[-1]

"""`train/demo --teacher RUN`: the student learns from the teacher run's float model; bad teachers fail early."""
import json

import numpy as np
import pytest
import torch.nn.functional as F

from tests.cli.test_app_errors import _run
from tests.train.problems import CLASSES, FEATURES, blobs
from tinycore.cli import steps
from tinycore.errors import TinycoreError
from tinycore.report import RunDir
from tinycore.spec import FC, Dropout, InputSpec, ModelSpec
from tinycore.task import Task, TaskData, TrainSettings
from tinycore.train import accuracy

SETTINGS = TrainSettings(epochs=4, lr=0.02, batch_size=32, distill_weight=1.0)


def _spec(classes: int = CLASSES) -> ModelSpec:
    return ModelSpec(InputSpec(features=FEATURES), blocks=(FC(16, act="relu", bn=True), Dropout(0.2)),
                     head=(FC(classes),))


def _task() -> Task:
    nothing = lambda *a: None  # noqa: E731
    return Task(name="t", description="", build_data=nothing, load_data=nothing, default_spec=nothing,
                train_settings=lambda quick: SETTINGS, loss=F.cross_entropy, metric=accuracy, evaluate=nothing)


def _data(shuffled_train_labels: bool = False) -> TaskData:
    (xt, yt), (xv, yv) = blobs(256, seed=1), blobs(128, seed=2)
    yt = yt.numpy()
    if shuffled_train_labels:  # labels carry no information: only a teacher can teach the task
        yt = np.random.default_rng(0).permutation(yt)
    return TaskData((xt.numpy(), yt), (xv.numpy(), yv.numpy()), (xv.numpy(), yv.numpy()), (FEATURES,),
                    tuple(f"c{i}" for i in range(CLASSES)), {})


def _train(run, data, teacher=None, spec=None) -> dict:
    return steps.train(_task(), data, RunDir(run), spec or _spec(), quick=True, seed=0, progress=False,
                       teacher=teacher)


def test_student_learns_from_the_teacher_run_alone(tmp_path):
    teacher = _train(tmp_path / "teacher", _data())
    assert teacher["best_val_accuracy"] >= 0.9
    blind = _train(tmp_path / "blind", _data(shuffled_train_labels=True))
    student = _train(tmp_path / "student", _data(shuffled_train_labels=True), teacher=tmp_path / "teacher")
    assert blind["best_val_accuracy"] < 0.6  # chance is 0.25: the shuffled labels teach nothing
    assert student["best_val_accuracy"] >= 0.9  # distill_weight 1: all it learnt came from the teacher
    report = json.loads(RunDir(tmp_path / "student").report_path.read_text())
    assert report["train"]["teacher"] == {"run": str(tmp_path / "teacher"), "distill_weight": 1.0,
                                          "temperature": 4.0}
    assert "teacher" not in json.loads(RunDir(tmp_path / "blind").report_path.read_text())["train"]


def test_teacher_of_another_task_is_refused(tmp_path):
    _train(tmp_path / "five", _data(), spec=_spec(classes=5))
    with pytest.raises(TinycoreError, match="5,\\) outputs, the task 4 classes"):
        steps.load_teacher(tmp_path / "five", _data())
    with pytest.raises(TinycoreError, match="spec.json is missing"):
        steps.load_teacher(tmp_path / "none", _data())


def test_bad_teacher_fails_before_any_data(tmp_path):
    p = _run("train", "--teacher", str(tmp_path / "nope"), "--quick", tmp=tmp_path)
    assert p.returncode == 2 and "--teacher" in p.stderr and "no such run folder" in p.stderr
    assert not (tmp_path / "data").exists()
    (tmp_path / "run").mkdir()
    p = _run("demo", "--search", "--teacher", str(tmp_path / "run"), "--quick", tmp=tmp_path)
    assert p.returncode == 2 and "does not apply to --search" in p.stderr
    assert not (tmp_path / "data").exists()

"""A decision offset for one class: chosen on val only (ties to 0), folded into the last bias before
quantization, kept in the checkpoint, so the float model every later step loads and the int8 graph carry it."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tinycore.cli import steps
from tinycore.errors import TinycoreError
from tinycore.report import RunDir
from tinycore.runtime import run as run_graph
from tinycore.ir import load_graph
from tinycore.quant import dequantize_output, quantize_input
from tinycore.task import Task, TaskData, TrainSettings
from tinycore.train import accuracy
from tinycore.train.logit_offset import (CHECKPOINT_KEY, accuracy_with_offset, choose_offset, fold_offset,
                                         predict_logits)
from tinycore.spec import FC, Dropout, InputSpec, ModelSpec
from tests.train.problems import CLASSES, FEATURES, blobs, mlp


def test_choose_offset_finds_the_threshold_and_prefers_zero_on_ties():
    y = np.array([0, 0, 1, 1])
    logits = np.array([[0.0, 0.6], [0.0, 0.3], [0.0, 1.0], [0.0, 2.0]])  # class 0 loses by 0.3-0.6
    offset, table = choose_offset(logits, y, 0)
    assert offset == 0.75 and table[offset] == 1.0 and table[0.0] == 0.5  # 0.6 < c < 1.0: the smallest grid value
    assert choose_offset(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1]), 0)[0] == 0.0  # all of -0.75..0.75 tie
    assert accuracy_with_offset(logits, y, 0, 0.75) == 1.0 and logits[0, 0] == 0.0  # logits are not changed


def test_fold_moves_one_output_column_exactly():
    model, x = mlp(), blobs(32, seed=4)[0].numpy()
    before = predict_logits(model, x)
    assert fold_offset(model, 2, 1.5, x) == "head.fc"
    moved = predict_logits(model, x) - before
    assert np.allclose(moved[:, 2], 1.5, atol=1e-5) and np.allclose(np.delete(moved, 2, axis=1), 0, atol=1e-5)
    with pytest.raises(TinycoreError, match="outside layer"):
        fold_offset(model, CLASSES, 1.0, x)


def test_fold_refuses_a_layer_that_does_not_feed_the_outputs():
    model = nn.Sequential(nn.Linear(8, 4), nn.Softmax(dim=1))
    x = blobs(16, seed=5)[0].numpy()
    bias = model[0].bias.detach().clone()
    with pytest.raises(TinycoreError, match="does not feed the outputs directly"):
        fold_offset(model, 1, 2.0, x)
    assert torch.equal(model[0].bias.detach(), bias)  # restored


def _skewed_data() -> TaskData:
    """Balanced val and test; train has few class-3 samples, so the trained model under-calls class 3."""
    x, y = blobs(1024, seed=1)
    keep = (y != 3) | (torch.arange(len(y)) % 8 == 0)
    tr = (x[keep].numpy(), y[keep].numpy())
    val, test = ((a.numpy(), b.numpy()) for a, b in (blobs(512, seed=2), blobs(512, seed=3)))
    return TaskData(tr, val, test, (8,), tuple(f"c{i}" for i in range(CLASSES)), {"name": "blobs"})


def _task(offset_class: str | None) -> Task:
    def evaluate(predict, data, split, run_dir, tag):
        x, y = getattr(data, split)
        return {"accuracy": float((predict(x).argmax(1) == y).mean())}

    return Task(name="t", description="", build_data=None, load_data=None, default_spec=None,
                train_settings=lambda quick: TrainSettings(epochs=4, lr=0.01, batch_size=32,
                                                           offset_class=offset_class),
                loss=F.cross_entropy, metric=accuracy, evaluate=evaluate)


def test_train_chooses_on_val_and_every_later_step_sees_the_offset(tmp_path):
    data = _skewed_data()
    spec = ModelSpec(InputSpec(features=FEATURES), blocks=(FC(16, act="relu"), Dropout(0.1)), head=(FC(CLASSES),))
    run = RunDir(tmp_path / "run")
    section = steps.train(_task("c3"), data, run, spec, quick=True, seed=0, progress=False)
    off = section["logit_offset"]
    assert off["class"] == "c3" and off["index"] == 3 and off["offset"] > 0
    assert off["val_accuracy_with"] > off["val_accuracy_without"]
    assert {"test_float_accuracy_with", "test_float_accuracy_without"} <= set(off)
    ckpt = torch.load(run.checkpoint_path, weights_only=False)
    assert ckpt[CHECKPOINT_KEY] == {"index": 3, "offset": off["offset"]}
    shifted = steps.load_float_model(run)
    raw = steps.load_float_model(run)
    raw.load_state_dict(ckpt["model"])  # the best weights as trained, without the offset
    x = data.val[0]
    moved = predict_logits(shifted, x) - predict_logits(raw, x)
    assert np.allclose(moved[:, 3], off["offset"], atol=1e-5) and np.allclose(moved[:, :3], 0, atol=1e-5)
    assert accuracy_with_offset(predict_logits(shifted, x), data.val[1], 3, 0.0) == off["val_accuracy_with"]
    steps.export(_task("c3"), data, run, sram_bytes=1 << 20, flash_bytes=1 << 20, strict=True)
    graph = load_graph(run.graph_path)
    q = quantize_input(graph, x)
    int8 = dequantize_output(graph, np.stack([run_graph(graph, s) for s in q]).reshape(len(q), -1))
    assert (int8.argmax(1) == predict_logits(shifted, x).argmax(1)).mean() > 0.95  # the graph carries it
    assert (int8.argmax(1) == 3).sum() > (predict_logits(raw, x).argmax(1) == 3).sum()


def test_without_offset_class_nothing_is_chosen(tmp_path):
    spec = ModelSpec(InputSpec(features=FEATURES), blocks=(FC(8, act="relu"),), head=(FC(CLASSES),))
    run = RunDir(tmp_path / "run")
    section = steps.train(_task(None), _skewed_data(), run, spec, quick=True, seed=0, progress=False)
    assert "logit_offset" not in section
    assert CHECKPOINT_KEY not in torch.load(run.checkpoint_path, weights_only=False)


def test_an_unknown_class_name_is_an_error(tmp_path):
    spec = ModelSpec(InputSpec(features=FEATURES), blocks=(FC(8, act="relu"),), head=(FC(CLASSES),))
    with pytest.raises(TinycoreError, match="'nope' is not one of"):
        steps.train(_task("nope"), _skewed_data(), RunDir(tmp_path / "run"), spec, quick=True, seed=0,
                    progress=False)

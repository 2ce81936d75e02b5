"""fit(): learns, checkpoints the best epoch, resumes exactly, stops early, distills."""
import json

import pytest
import torch
import torch.nn.functional as F

from tinycore.train import (CHECKPOINT_NAME, TrainConfig, TrainError, accuracy, distillation_loss, evaluate, fit)
from tinycore.train.loop import cosine_lr
from tests.train.problems import blobs, crashing_loss, mlp

TRAIN, VAL = blobs(256, seed=1), blobs(128, seed=2)


def test_fit_learns_and_writes_best_checkpoint(tmp_path):
    model = mlp()
    before = evaluate(model, VAL)
    res = fit(model, TRAIN, VAL, epochs=4, lr=0.01, batch_size=32, out_dir=tmp_path, progress=False)
    assert before < 0.5 and res.best_metric >= 0.9          # chance is 0.25
    assert evaluate(model, VAL) == res.best_metric          # the model holds the best epoch's weights
    assert [h.epoch for h in res.history] == [1, 2, 3, 4] and res.epochs_run == 4
    assert res.best_metric == max(h.val_metric for h in res.history)
    assert res.history[0].lr == 0.01 and res.history[2].lr == pytest.approx(0.005)  # cosine: half at the middle
    ckpt = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert ckpt["epoch"] == 4 and ckpt["best_epoch"] == res.best_epoch
    assert ckpt["meta"]["config"] == TrainConfig(epochs=4, lr=0.01, batch_size=32).to_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(ckpt["model"][k], v)
    json.dumps(res.to_dict())  # apps store it in report.json


def test_resume_continues_from_saved_epoch(tmp_path):
    calls = []

    def counting_loss(out, y):
        calls.append(1)
        return F.cross_entropy(out, y)
    fit(mlp(), TRAIN, VAL, epochs=2, lr=0.01, batch_size=32, out_dir=tmp_path, progress=False)
    res = fit(mlp(seed=5), TRAIN, VAL, epochs=4, lr=0.01, batch_size=32, out_dir=tmp_path, progress=False,
              loss=counting_loss)
    assert res.resumed_from_epoch == 2 and res.epochs_run == 4
    assert [h.epoch for h in res.history] == [1, 2, 3, 4]
    assert len(calls) == 2 * 8  # only epochs 3 and 4 ran: 256 samples / 32 per batch
    assert torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)["epoch"] == 4


def test_resume_after_crash_equals_uninterrupted_run(tmp_path):
    full = mlp()
    ref = fit(full, TRAIN, VAL, epochs=4, lr=0.01, batch_size=32, out_dir=tmp_path / "a", progress=False)
    with pytest.raises(KeyboardInterrupt):  # crash in the middle of epoch 3
        fit(mlp(), TRAIN, VAL, epochs=4, lr=0.01, batch_size=32, out_dir=tmp_path / "b", progress=False,
            loss=crashing_loss(2 * 8 + 3))
    resumed = mlp(seed=7)
    res = fit(resumed, TRAIN, VAL, epochs=4, lr=0.01, batch_size=32, out_dir=tmp_path / "b", progress=False)
    assert res.resumed_from_epoch == 2
    assert res.history == ref.history
    for k, v in full.state_dict().items():
        assert torch.equal(resumed.state_dict()[k], v), k


def test_early_stopping_on_flat_metric():
    res = fit(mlp(), TRAIN, VAL, epochs=10, lr=0.01, batch_size=64, patience=2, metric=lambda o, t: 0.5,
              progress=False)
    assert res.stopped_early and res.epochs_run == 3 and res.best_epoch == 1


def test_minimized_metric_and_tensor_targets():
    x, _ = TRAIN
    torch.manual_seed(0)
    ae = torch.nn.Sequential(torch.nn.Linear(8, 8))
    mse = lambda o, t: F.mse_loss(o, t).item()  # noqa: E731
    before = evaluate(ae, (x, x), mse)
    res = fit(ae, (x, x), (x, x), epochs=5, lr=0.05, loss=F.mse_loss, metric=mse, maximize=False, progress=False)
    assert res.best_metric < before / 4 and res.best_metric == min(h.val_metric for h in res.history)


def test_distillation_from_teacher_alone():
    assert distillation_loss(torch.ones(3, 4), torch.ones(3, 4), 4.0).item() == 0.0
    s, t = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 0.0]])
    kl = (F.softmax(t / 2, 1) * (F.log_softmax(t / 2, 1) - F.log_softmax(s / 2, 1))).sum() * 4
    assert distillation_loss(s, t, 2.0).item() == pytest.approx(kl.item(), rel=1e-6)
    teacher = mlp(seed=1, hidden=32)
    fit(teacher, TRAIN, VAL, epochs=4, lr=0.01, batch_size=32, progress=False)
    student = mlp(seed=2, hidden=8, dropout=0.0)
    # distill_weight 1: the student never sees a label, only the teacher's softened logits
    res = fit(student, TRAIN, VAL, epochs=4, lr=0.02, batch_size=32, teacher=teacher, distill_weight=1.0,
              temperature=2.0, progress=False)
    assert res.best_metric >= 0.85


def test_progress_goes_to_stderr(capsys):
    fit(mlp(), TRAIN, VAL, epochs=1, lr=0.01, batch_size=64, progress=True)
    cap = capsys.readouterr()
    assert cap.out == "" and "epoch 1/1" in cap.err


def test_dataloader_input_keeps_its_batch_size():
    from torch.utils.data import DataLoader, TensorDataset
    calls = []

    def counting_loss(out, y):
        calls.append(len(y))
        return F.cross_entropy(out, y)
    dl = DataLoader(TensorDataset(*TRAIN), batch_size=100)
    fit(mlp(), dl, DataLoader(TensorDataset(*VAL), batch_size=50), epochs=1, lr=0.01, loss=counting_loss,
        progress=False)
    assert sorted(calls) == [56, 100, 100]


def test_errors(tmp_path):
    with pytest.raises(TrainError, match="optimizer 'adam' is not one of adamw, sgd"):
        fit(mlp(), TRAIN, VAL, epochs=1, lr=0.01, optimizer="adam")
    with pytest.raises(TrainError, match="epochs must be an int >= 1"):
        TrainConfig(epochs=0, lr=0.1)
    with pytest.raises(TrainError, match="val_data must be a torch DataLoader"):
        fit(mlp(), TRAIN, [1, 2, 3], epochs=1, lr=0.01, progress=False)
    with pytest.raises(TrainError, match="train_data has 256 inputs but 3 targets"):
        fit(mlp(), (TRAIN[0], TRAIN[1][:3]), VAL, epochs=1, lr=0.01, progress=False)
    fit(mlp(), TRAIN, VAL, epochs=1, lr=0.01, out_dir=tmp_path, progress=False)
    with pytest.raises(TrainError, match="checkpoint does not fit this model"):
        fit(mlp(hidden=4), TRAIN, VAL, epochs=2, lr=0.01, out_dir=tmp_path, progress=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / CHECKPOINT_NAME).write_bytes(b"not a checkpoint")
    with pytest.raises(TrainError, match="cannot read checkpoint"):
        fit(mlp(), TRAIN, VAL, epochs=1, lr=0.01, out_dir=tmp_path / "bad", progress=False)


def test_sgd_runs():
    res = fit(mlp(), TRAIN, VAL, epochs=4, lr=0.2, optimizer="sgd", batch_size=32, progress=False)
    assert res.best_metric >= 0.9 and res.config.optimizer == "sgd"
    assert accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1])) == 0.5


def test_config_from_report_drives_fit():
    cfg = TrainConfig(epochs=2, lr=0.01, batch_size=32, patience=5, seed=3)
    stored = json.loads(json.dumps(cfg.to_dict()))  # as an app reads it back from report.json
    res = fit(mlp(), TRAIN, VAL, **stored, progress=False)
    assert res.config == cfg and res.epochs_run == 2


def test_warmup_rises_linearly_then_decays():
    cfg = TrainConfig(epochs=4, lr=0.01, warmup_epochs=1)
    steps = [cosine_lr(cfg, s, 40) for s in range(40)]  # 10 steps per epoch
    assert steps[0] == pytest.approx(0.001) and steps[9] == pytest.approx(0.01)  # linear over epoch 1
    assert steps[10] == pytest.approx(0.01) and steps[25] == pytest.approx(0.005)  # cosine over epochs 2-4
    assert all(a > b for a, b in zip(steps[10:], steps[11:]))
    res = fit(mlp(), TRAIN, VAL, epochs=4, lr=0.01, batch_size=32, warmup_epochs=1, progress=False)
    assert res.history[0].lr == pytest.approx(0.01 / 8) and res.history[1].lr == pytest.approx(0.01)
    assert res.best_metric >= 0.9
    with pytest.raises(TrainError, match=r"warmup_epochs must be an int in \[0, epochs\), got 4"):
        TrainConfig(epochs=4, lr=0.01, warmup_epochs=4)

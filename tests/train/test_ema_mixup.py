"""fit(ema_decay=...): validation, checkpoint and the returned model use the weight average; resume replays it.
fit(mixup_alpha=...): batches and losses mixed alike."""
import pytest
import torch
import torch.nn.functional as F

from tinycore.train import CHECKPOINT_NAME, TrainError, evaluate, fit
from tinycore.train.ema import WeightEMA
from tests.train.problems import blobs, crashing_loss, mlp

TRAIN, VAL = blobs(256, seed=1), blobs(128, seed=2)


def test_weight_ema_averages_floats_and_copies_counters():
    model = mlp()
    ema = WeightEMA(model, decay=0.5, updates=100)  # past the warm-up: d = 0.5
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(2.0)
        model.state_dict()["blocks.0.bn.num_batches_tracked"].fill_(7)
    ema.update(model)
    for k, v in ema.model.state_dict().items():
        new = model.state_dict()[k]
        if v.dtype.is_floating_point:
            torch.testing.assert_close(v, 0.5 * before[k] + 0.5 * new)
        else:
            assert torch.equal(v, new), k
    assert ema.updates == 101 and not any(p.requires_grad for p in ema.model.parameters())
    assert WeightEMA(model, 0.999).current_decay() == pytest.approx(0.1)  # warm-up: (1 + 0) / (10 + 0)


def test_fit_scores_and_returns_the_average(tmp_path):
    model = mlp()
    res = fit(model, TRAIN, VAL, epochs=3, lr=0.01, batch_size=32, out_dir=tmp_path, progress=False, ema_decay=0.9)
    ckpt = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert res.config.ema_decay == 0.9 and ckpt["ema"]["updates"] == 3 * 8
    assert evaluate(model, VAL) == res.best_metric >= 0.6  # chance 0.25; 24 steps, the average lags
    last = mlp(seed=3)
    last.load_state_dict(ckpt["last_model"])
    assert any(not torch.equal(v, ckpt["ema"]["model"][k]) for k, v in last.state_dict().items()
               if v.dtype.is_floating_point)  # the average is not the last step's weights
    if res.best_epoch == 3:
        for k, v in model.state_dict().items():
            assert torch.equal(v, ckpt["ema"]["model"][k]), k


def test_resume_with_ema_equals_uninterrupted_run(tmp_path):
    full = mlp()
    ref = fit(full, TRAIN, VAL, epochs=4, lr=0.01, batch_size=32, out_dir=tmp_path / "a", progress=False,
              ema_decay=0.95)
    with pytest.raises(KeyboardInterrupt):  # crash in the middle of epoch 3
        fit(mlp(), TRAIN, VAL, epochs=4, lr=0.01, batch_size=32, out_dir=tmp_path / "b", progress=False,
            ema_decay=0.95, loss=crashing_loss(2 * 8 + 3))
    resumed = mlp(seed=7)
    res = fit(resumed, TRAIN, VAL, epochs=4, lr=0.01, batch_size=32, out_dir=tmp_path / "b", progress=False,
              ema_decay=0.95)
    assert res.resumed_from_epoch == 2 and res.history == ref.history
    for k, v in full.state_dict().items():
        assert torch.equal(resumed.state_dict()[k], v), k


def test_ema_errors(tmp_path):
    with pytest.raises(TrainError, match=r"ema_decay must be in \(0, 1\)"):
        fit(mlp(), TRAIN, VAL, epochs=1, lr=0.01, ema_decay=1.0, progress=False)
    fit(mlp(), TRAIN, VAL, epochs=1, lr=0.01, out_dir=tmp_path, progress=False)
    with pytest.raises(TrainError, match="trained without ema_decay"):
        fit(mlp(), TRAIN, VAL, epochs=2, lr=0.01, out_dir=tmp_path, progress=False, ema_decay=0.9)


def test_mixup_mixes_inputs_and_losses():
    from tinycore.train.mixup import mix_batch, mixed_loss
    torch.manual_seed(0)
    x, y = TRAIN[0][:32], TRAIN[1][:32]
    mixed, perm, lam = mix_batch(x, 0.4)
    assert 0.5 <= lam <= 1.0 and sorted(perm.tolist()) == list(range(32))
    torch.testing.assert_close(mixed, lam * x + (1 - lam) * x[perm])
    out = torch.randn(32, 4)
    soft = lam * F.one_hot(y, 4).float() + (1 - lam) * F.one_hot(y[perm], 4).float()
    torch.testing.assert_close(mixed_loss(F.cross_entropy, out, y, perm, lam), F.cross_entropy(out, soft))
    res = fit(mlp(), TRAIN, VAL, epochs=3, lr=0.01, batch_size=32, progress=False, mixup_alpha=0.4)
    assert res.config.mixup_alpha == 0.4 and res.best_metric >= 0.6  # still learns (chance 0.25)
    with pytest.raises(TrainError, match="mixup_alpha must be > 0"):
        fit(mlp(), TRAIN, VAL, epochs=1, lr=0.01, mixup_alpha=0.0, progress=False)

"""Supernet training: 2 CPU processes (gloo) end with identical weights; an interrupted run resumes exactly."""
import os

import pytest
import torch
import torch.multiprocessing as mp

from tinycore.nas.supernet import Supernet
from tinycore.nas.train_supernet import CHECKPOINT_NAME, SupernetConfig, train_supernet
from tests.nas.problems import blobs, tiny_space
from tests.ddp import free_port, set_rank_env

CFG = SupernetConfig(epochs=2, batch_size=32, n_random=1, calib_batches=1, lr=3e-3)


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    set_rank_env(rank, world, port)
    torch.set_num_threads(1)
    torch.manual_seed(rank)  # different initial weights: rank 0's must be broadcast
    net = Supernet(tiny_space(fixed=True), 0.5, 20)
    cfg = SupernetConfig(epochs=1, batch_size=32, n_random=1, calib_batches=1)
    hist = train_supernet(net, blobs(128, 1), blobs(64, 2), cfg, os.path.join(out_dir, "run"), progress=False)
    torch.save({"state": net.state_dict(), "history": hist}, os.path.join(out_dir, f"rank{rank}.pt"))


def test_two_processes_train_identical_supernets(tmp_path):
    mp.spawn(_worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=False)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=False)
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    # scores agree (train_loss is each rank's own shard)
    assert [(h["largest"], h["smallest"]) for h in r0["history"]] == [(h["largest"], h["smallest"])
                                                                      for h in r1["history"]]
    ckpt = torch.load(tmp_path / "run" / CHECKPOINT_NAME, weights_only=False)
    assert ckpt["world_size"] == 2 and ckpt["epoch"] == 1
    init = Supernet(tiny_space(fixed=True), 0.5, 20).state_dict()
    assert any(not torch.equal(init[k], v) for k, v in r0["state"].items())  # it trained


class _Interrupt(Exception):
    pass


def test_interrupted_training_resumes_exactly(tmp_path):
    torch.set_num_threads(1)
    train, val = blobs(96, 1), blobs(32, 2)
    torch.manual_seed(0)
    ref = Supernet(tiny_space(fixed=True), 0.5, 20)
    ref_hist = train_supernet(ref, train, val, CFG, tmp_path / "ref", progress=False)

    calls = {"n": 0}
    steps_per_epoch = 96 // 32

    def failing_loss(out, y):
        calls["n"] += 1
        if calls["n"] > steps_per_epoch * 3 + 1:  # in epoch 2 (3 subnets per step)
            raise _Interrupt()
        return torch.nn.functional.cross_entropy(out, y)

    torch.manual_seed(0)
    net = Supernet(tiny_space(fixed=True), 0.5, 20)
    with pytest.raises(_Interrupt):
        train_supernet(net, train, val, CFG, tmp_path / "run", loss_fn=failing_loss, progress=False)
    assert torch.load(tmp_path / "run" / CHECKPOINT_NAME, weights_only=False)["epoch"] == 1
    torch.manual_seed(5)
    resumed = Supernet(tiny_space(fixed=True), 0.5, 20)
    hist = train_supernet(resumed, train, val, CFG, tmp_path / "run", progress=False)
    assert hist == ref_hist
    for k, v in ref.state_dict().items():
        assert torch.equal(resumed.state_dict()[k], v), k


def test_loader_needs_calibration_batches_and_trains_with_them(tmp_path):
    from tinycore.errors import TrainError

    torch.set_num_threads(1)
    x, y = blobs(96, 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    net = Supernet(tiny_space(fixed=True), 0.5, 20)
    with pytest.raises(TrainError, match="pass calib"):
        train_supernet(net, loader, blobs(32, 2), CFG, progress=False)
    hist = train_supernet(net, loader, blobs(32, 2), CFG, progress=False, calib=[x[:32]])
    assert len(hist) == CFG.epochs and hist[-1]["train_loss"] < hist[0]["train_loss"]

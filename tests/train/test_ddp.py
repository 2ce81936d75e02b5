"""DDP: two CPU processes (gloo) started the way torchrun would; both ranks must end with identical weights."""
import os

import torch
import torch.multiprocessing as mp

from tinycore.train import CHECKPOINT_NAME, fit
from tests.train.problems import blobs, mlp
from tests.ddp import free_port, set_rank_env


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    set_rank_env(rank, world, port)
    torch.set_num_threads(1)
    model = mlp(seed=rank)  # different initial weights: DDP must broadcast rank 0's
    res = fit(model, blobs(256, seed=1), blobs(128, seed=2), epochs=2, lr=0.02, batch_size=16,
              out_dir=os.path.join(out_dir, "run"), progress=False)
    torch.save({"state": model.state_dict(), "best": res.best_metric, "history": res.history,
                "world": res.to_dict()["config"]}, os.path.join(out_dir, f"rank{rank}.pt"))


def test_two_ranks_end_with_identical_weights(tmp_path):
    mp.spawn(_worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=False)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=False)
    assert r0["state"].keys() == r1["state"].keys()
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    assert r0["best"] == r1["best"] and r0["best"] >= 0.8
    assert [h.val_metric for h in r0["history"]] == [h.val_metric for h in r1["history"]]
    ckpt = torch.load(tmp_path / "run" / CHECKPOINT_NAME, weights_only=True)
    assert ckpt["meta"]["world_size"] == 2 and ckpt["epoch"] == 2
    for k, v in r0["state"].items():  # rank 0 wrote the best weights
        assert torch.equal(ckpt["model"][k], v)
    assert os.environ.get("WORLD_SIZE") is None  # the test process itself stays single-process

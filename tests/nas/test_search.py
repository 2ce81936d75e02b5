"""End to end: a quick search on a tiny synthetic set; the winner, quantized and planned, has exactly the
predicted arena and Flash, within budget; a re-run resumes from the files instead of recomputing."""
import json

import pytest
import torch

from tinycore.errors import BudgetError
from tinycore.memory import flash_bytes, plan_graph
from tinycore.nas import Budget, EvolutionConfig, SearchConfig, SupernetConfig, run_search
from tinycore.quant import quantize
from tinycore.spec import spec_from_json
from tests.nas.problems import blobs, tiny_space

BUDGET = Budget(6 * 1024, 24 * 1024)
CFG = SearchConfig(samples_per_space=20, supernet=SupernetConfig(epochs=1, batch_size=32, n_random=1,
                                                                  calib_batches=1),
                   evolution=EvolutionConfig(population=4, generations=2, mutation_prob=0.3), finetune_epochs=1)


def _data(seed: int, n: int):
    return lambda res: blobs(n, seed, shape=(1, res, 8))  # the app recomputes features per resolution


@pytest.mark.slow
def test_quick_search_winner_has_exactly_the_predicted_memory(tmp_path):
    torch.set_num_threads(1)
    res = run_search(tiny_space(), BUDGET, _data(1, 192), _data(2, 64), CFG, tmp_path, progress=False)
    assert BUDGET.fits(res.predicted_arena_bytes, res.predicted_flash_bytes)
    x, _ = blobs(64, 3, shape=(1, res.resolution, 8))
    graph = quantize(res.model, [x])
    assert plan_graph(graph).arena_bytes == res.predicted_arena_bytes
    assert flash_bytes(graph) == res.predicted_flash_bytes
    assert res.accuracy >= 0.8  # 4 classes (chance 0.25); measured 0.922 on the 64 validation samples
    for name in ("stage1.json", "stage1_cdf.png", "supernet.pt", "evolution.jsonl", "candidates.png",
                 "best_spec.json", "search.json", "finetune/checkpoint.pt"):
        assert (tmp_path / name).exists(), name
    assert spec_from_json((tmp_path / "best_spec.json").read_text()) == res.spec
    assert len((tmp_path / "evolution.jsonl").read_text().splitlines()) == 2
    summary = json.loads((tmp_path / "search.json").read_text())
    assert summary["predicted_arena_bytes"] == res.predicted_arena_bytes

    mtimes = {n: (tmp_path / n).stat().st_mtime_ns for n in ("stage1.json", "supernet.pt", "evolution.jsonl")}
    again = run_search(tiny_space(), BUDGET, _data(1, 192), _data(2, 64), CFG, tmp_path, progress=False)
    assert again.spec == res.spec and again.accuracy == res.accuracy
    assert {n: (tmp_path / n).stat().st_mtime_ns for n in mtimes} == mtimes  # nothing recomputed


def test_impossible_budget_stops_before_training(tmp_path):
    with pytest.raises(BudgetError, match="smallest achievable SRAM is 4,224 B"):
        run_search(tiny_space(), Budget(2048, 4096), _data(1, 8), _data(2, 8), CFG, tmp_path, progress=False)
    assert not (tmp_path / "supernet.pt").exists()


@pytest.mark.slow
def test_supernet_and_winner_train_on_the_loader_for_their_resolution(tmp_path):
    """An app's augmenting loader trains the supernet and the winner; None from the function falls back to the
    train tensors."""
    torch.set_num_threads(1)
    asked, seen = [], []

    class Recording(torch.utils.data.Dataset):
        def __init__(self, pair):
            self.x, self.y = pair

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            seen.append(i)
            return self.x[i], self.y[i]

    def loader(res):
        asked.append(res)
        return torch.utils.data.DataLoader(Recording(blobs(96, 4, shape=(1, res, 8))), batch_size=32)

    res = run_search(tiny_space(), BUDGET, _data(1, 192), _data(2, 64), CFG, tmp_path / "a", progress=False,
                     train_loader=loader)
    assert asked == [res.resolution]
    assert len(seen) == 96 * (CFG.supernet.epochs + CFG.finetune_epochs)
    assert res.history["train_source"] == "train_loader"
    res = run_search(tiny_space(), BUDGET, _data(1, 192), _data(2, 64), CFG, tmp_path / "b", progress=False,
                     train_loader=lambda r: None)
    assert res.history["train_source"] == "train_data"

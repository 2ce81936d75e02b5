"""The `search` subcommand with a TinyNAS space: the app's training loader fine-tunes the winner, the exported
graph has exactly the predicted memory, and the full settings train the winner as long as `train` would."""
import dataclasses
import json
import os
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from apps.kws.task import TASK
from tests.ddp import free_port, set_rank_env
from tests.nas.problems import blobs, tiny_space
from tests.nas.test_search import CFG
from tinycore.cli import search
from tinycore.report import RunDir
from tinycore.task import TaskData


def _data() -> TaskData:
    split = lambda n, seed: tuple(a.numpy() for a in blobs(n, seed))  # noqa: E731
    return TaskData(split(192, 1), split(64, 2), split(64, 3), (1, 20, 8), ("a", "b", "c", "d"),
                    {"name": "blobs", "n_train": 192, "n_val": 64, "n_test": 64}, {})


def test_full_settings_fine_tune_the_winner_like_train():
    cfg = search.search_config(TASK, quick=False, seed=0)
    assert cfg.finetune_epochs == TASK.train_settings(False).epochs
    assert cfg.finetune_lr == TASK.train_settings(False).lr
    assert search.search_config(TASK, quick=True, seed=0, epochs=3).finetune_epochs == 3


@pytest.mark.slow
def test_tinynas_search_fine_tunes_on_the_apps_loader(tmp_path):
    torch.set_num_threads(1)
    calls = []

    def loader(data, batch_size, progress):
        calls.append(batch_size)
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*(torch.from_numpy(a) for a in data.train)),
                                           batch_size=batch_size, shuffle=True)

    task = dataclasses.replace(TASK, search_space=lambda data: tiny_space(fixed=True), train_loader=loader)
    limit = 600_000
    report = search.search_and_export(task, _data(), RunDir(tmp_path / "run"), sram_bytes=6 * 1024,
                                      flash_bytes=24 * 1024, quick=True, seed=0, progress=False, config=CFG,
                                      macs=limit)
    s, mem = report["search"], report["memory"]
    assert calls == [CFG.supernet.batch_size] and s["train_source"] == "train_loader"
    assert report["model"]["macs"] == s["predicted_macs"] <= limit == s["macs_limit"]
    assert (mem["sram_smallest_bytes"], mem["flash_bytes"]) == (s["predicted_arena_bytes"], s["predicted_flash_bytes"])
    assert mem["sram_smallest_bytes"] <= mem["sram_peak_bytes"] <= 6 * 1024
    # the fine-tuned winner learns the 4 blobs (chance 0.25): measured 0.953 float and int8 on the 64 test
    # samples; floor 10 points below, int8 within 3 samples of float
    m = report["metrics"]
    assert m["int8"]["accuracy"] >= 0.85 and abs(m["float"]["accuracy"] - m["int8"]["accuracy"]) <= 3 / 64


def test_space_report_gives_the_stage1_choice_and_a_budget_grid(tmp_path):
    task = dataclasses.replace(TASK, search_space=lambda data: tiny_space())
    payload, text = search.space_report(task, _data(), tmp_path / "one", [6 * 1024], [24 * 1024], 40, 0)
    assert "<- chosen" in text and (tmp_path / "one" / "stage1_cdf.png").stat().st_size > 0
    choice = payload["choice"]
    assert any((r["width"], r["resolution"]) == (choice["width"], choice["resolution"]) and r["n_fit"] > 0
               for r in payload["rows"])
    payload, text = search.space_report(task, _data(), tmp_path / "grid", [1024, 6 * 1024, 64 * 1024],
                                        [24 * 1024, 1024 * 1024], 40, 0)
    cells = {(r["sram_bytes"], r["flash_bytes"]): r for r in payload["grid"]}
    assert len(cells) == 6 and (tmp_path / "grid" / "grid.png").stat().st_size > 0
    assert cells[(1024, 24 * 1024)]["width"] is None  # below the smallest subnet's arena: nothing fits
    big, small = cells[(64 * 1024, 1024 * 1024)], cells[(6 * 1024, 24 * 1024)]
    assert big["width"] is not None and big["mean_macs_fit"] >= small["mean_macs_fit"]


def test_space_command_exists_only_for_apps_with_a_search_space():
    from apps.anomaly.task import TASK as ANOMALY
    from tinycore.cli.app import build_parser

    assert "space" in build_parser(TASK)._subparsers._group_actions[0].choices
    assert ("space" in build_parser(ANOMALY)._subparsers._group_actions[0].choices) == \
        (ANOMALY.search_space is not None)


def _loader(data, batch_size, progress):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*(torch.from_numpy(a) for a in data.train)),
                                       batch_size=batch_size, shuffle=True)


def _search_rank(rank: int, world: int, port: int, out: str) -> None:
    set_rank_env(rank, world, port)
    torch.set_num_threads(1)
    task = dataclasses.replace(TASK, search_space=lambda data: tiny_space(fixed=True), train_loader=_loader)
    report = search.search_and_export(task, _data(), RunDir(Path(out) / "run"), sram_bytes=6 * 1024,
                                      flash_bytes=24 * 1024, quick=True, seed=0, progress=False, config=CFG)
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump(report, f)


@pytest.mark.slow
def test_search_under_two_ranks_exports_once(tmp_path):
    """As under `torchrun --nproc_per_node 2`: both ranks train, rank 0 alone exports, evaluates and reports."""
    mp.spawn(_search_rank, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    assert json.loads((tmp_path / "rank1.json").read_text()) is None
    report = json.loads((tmp_path / "rank0.json").read_text())
    assert report == json.loads((tmp_path / "run" / "report.json").read_text())
    s, mem = report["search"], report["memory"]
    assert (mem["sram_smallest_bytes"], mem["flash_bytes"]) == (s["predicted_arena_bytes"], s["predicted_flash_bytes"])
    assert mem["sram_smallest_bytes"] <= mem["sram_peak_bytes"] <= 6 * 1024
    assert s["train_source"] == "train_loader"
    assert torch.load(tmp_path / "run" / "search" / "supernet.pt", weights_only=False)["world_size"] == 2


def test_macs_option_reads_decimal_units():
    from tinycore.errors import TinycoreError
    from tinycore.units import parse_count

    assert [parse_count(v) for v in ("10M", "2.5M", "800k", "123456", 7)] == [10**7, 2_500_000, 800_000, 123456, 7]
    with pytest.raises(TinycoreError, match="cannot read count '10MB'"):
        parse_count("10MB")

"""One supernet, one subnet per board: board limits and emulated twins, stage 1 under the common budget, each
board's evolution under its own limits from the same trained supernet."""
import dataclasses
import json

import pytest
import torch

from tinycore.errors import UnsupportedError
from tinycore.export.boards import BOARDS
from tinycore.export.firmware import FLASH_CODE_ESTIMATE_BYTES, HEAP_RESERVE_BYTES
from tinycore.nas import Arch, Budget
from tinycore.nas.boards import (BoardTarget, board_budget, board_targets, common_budget, format_board_table,
                                 search_boards)
from tests.nas.problems import blobs, tiny_space
from tests.nas.test_search import CFG


def test_board_targets_take_each_boards_limits_and_the_emulated_core():
    t = {x.board: x for x in board_targets(["stm32f412", "stm32f746", "stm32h743"])}
    assert {b: x.emulated for b, x in t.items()} == {"stm32f412": "mps2-an386", "stm32f746": "mps2-an500",
                                                     "stm32h743": "mps2-an500"}
    for name, x in t.items():
        b = BOARDS[name]
        assert x.cpu == b.cpu
        assert x.budget.flash_bytes == b.flash_bytes - FLASH_CODE_ESTIMATE_BYTES
        assert 0 < b.sram_bytes - HEAP_RESERVE_BYTES - x.budget.sram_bytes < 8192  # less the worst kernel stack
    common = common_budget(list(t.values()))
    assert common == Budget(t["stm32f412"].budget.sram_bytes, t["stm32f412"].budget.flash_bytes)


def test_the_app_firmwares_ram_comes_off_each_boards_sram():
    """Task.firmware_ram_bytes (the app's buffers and stack frames beside the arena): a pick within the limit links."""
    plain = board_budget("stm32f412")
    assert board_budget("stm32f412", 1024) == Budget(plain.sram_bytes - 1024, plain.flash_bytes)
    t = board_targets(["stm32f412", "stm32h743"], 1024)
    plain_sram = [board_budget(n).sram_bytes for n in ("stm32f412", "stm32h743")]
    assert [x.budget.sram_bytes for x in t] == [s - 1024 for s in plain_sram]
    assert t[0].to_dict()["firmware_ram_bytes"] == 1024
    with pytest.raises(UnsupportedError, match="stm32f412.*no arena"):
        board_budget("stm32f412", BOARDS["stm32f412"].sram_bytes)


def test_unknown_or_repeated_board_is_refused():
    with pytest.raises(UnsupportedError, match="stm32f746"):
        board_targets(["stm32f747"])
    with pytest.raises(UnsupportedError, match="twice"):
        board_targets(["stm32f412", "stm32f412"])


def _data(seed: int, n: int):
    return lambda res: blobs(n, seed, shape=(1, res, 8))


@pytest.mark.slow
def test_one_supernet_gives_each_board_a_subnet_within_its_own_limits(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    import tinycore.nas.search as search_mod

    calls = []
    real = search_mod.score_subnet
    monkeypatch.setattr(search_mod, "score_subnet", lambda net, arch, *a: calls.append(arch.key()) or real(net, arch, *a))
    small = BoardTarget("small", "cortex-m4", Budget(6 * 1024, 24 * 1024), "mps2-an386")
    big = BoardTarget("big", "cortex-m7", Budget(64 * 1024, 1024 * 1024), "mps2-an500")
    seen = []
    cfg = dataclasses.replace(CFG, finetune_epochs=0)  # the supernet's own weights (once-for-all)
    found = search_boards(tiny_space(), [big, small], _data(1, 192), _data(2, 64), cfg, tmp_path, progress=False,
                          on_board=lambda t, r: seen.append(t.board))
    assert seen == ["big", "small"]
    assert found.common == small.budget and found.stage1.budget == small.budget
    assert len(found.supernet_history) == CFG.supernet.epochs  # trained once, not per board
    for target, res in found.results:
        assert (res.width, res.resolution) == (found.stage1.width, found.stage1.resolution)
        assert target.budget.fits(res.predicted_arena_bytes, res.predicted_flash_bytes)
        assert res.history["finetune"] == [] and not (tmp_path / "boards" / target.board / "finetune").exists()
        log = (tmp_path / "boards" / target.board / "evolution.jsonl").read_text().splitlines()
        assert len(log) == CFG.evolution.generations
    # the big board searched beyond the small board's limits (else it would just repeat the small search)
    big_log = [json.loads(x) for x in (tmp_path / "boards" / "big" / "evolution.jsonl").read_text().splitlines()]
    assert max(c["arena_bytes"] for g in big_log for c in g["new"]) > small.budget.sram_bytes
    assert (tmp_path / "supernet.pt").exists() and (tmp_path / "stage1.json").exists()
    logged = [c for b in ("big", "small") for g in (json.loads(x) for x in
              (tmp_path / "boards" / b / "evolution.jsonl").read_text().splitlines()) for c in g["new"]]
    keys = [Arch.from_dict(c["arch"]).key() for c in logged]
    # a subnet both evolutions meet is scored once (plus, per distinct winner, the largest subnet and the winner
    # re-set for extraction: a winner two boards share is extracted once); it has one score in both logs
    winners = {r.arch.key() for _, r in found.results}
    assert len(keys) > len(set(keys)) and len(calls) == len(set(keys)) + 2 * len(winners)
    by_arch = {}
    for k, c in zip(keys, logged):
        assert by_arch.setdefault(k, c["score"]) == c["score"]
    rows = [{"board": t.board, "cpu": t.cpu, "emulated": t.emulated, "sram_limit_bytes": t.budget.sram_bytes,
             "flash_limit_bytes": t.budget.flash_bytes, "arena_bytes": r.predicted_arena_bytes,
             "flash_bytes": r.predicted_flash_bytes, "macs": r.macs, "int8_accuracy": None,
             "instructions_per_inference": 123456} for t, r in found.results]
    table = format_board_table(rows).splitlines()
    assert len(table) == 3 and table[1].startswith("big") and "123,456" in table[1]
    assert "cortex-m4 (mps2-an386)" in table[2] and format_board_table(rows, markdown=True).count("\n") == 3


@pytest.mark.slow
def test_a_winner_two_boards_share_is_fine_tuned_once(tmp_path):
    torch.set_num_threads(1)
    cfg = dataclasses.replace(CFG, finetune_epochs=1)
    same = Budget(64 * 1024, 1024 * 1024)
    a, b = (BoardTarget(n, "cortex-m7", same, "mps2-an500") for n in ("a", "b"))
    found = search_boards(tiny_space(), [a, b], _data(1, 96), _data(2, 32), cfg, tmp_path, progress=False)
    (_, ra), (_, rb) = found.results
    assert ra.arch.key() == rb.arch.key() and ra.accuracy == rb.accuracy and len(ra.history["finetune"]) == 1
    assert (tmp_path / "boards" / "a" / "finetune").exists() and not (tmp_path / "boards" / "b" / "finetune").exists()
    for k, v in ra.model.state_dict().items():
        assert torch.equal(v, rb.model.state_dict()[k]), k

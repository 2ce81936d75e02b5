"""`search --boards` end to end on the KWS search space (tiny settings, blob data at the KWS input shape): one
supernet, a model per board exported under the board's limits, the real board's image built, the model run in
QEMU on the emulated board of its core, the table in report.json search.boards."""
import dataclasses

import numpy as np
import pytest
import torch

from apps.kws.task import TASK, search_space
from tests.nas.problems import blobs
from tests.nas.test_search import CFG
from tinycore.cli import boards
from tinycore.export.boards import get_board
from tinycore.nas.boards import board_targets
from tinycore.report import RunDir
from tinycore.task import TaskData

SHAPE = (1, 49, 10)  # KWS MFCC input


def _data() -> TaskData:
    split = lambda n, seed: tuple(a.numpy() for a in blobs(n, seed, shape=SHAPE))  # noqa: E731
    return TaskData(split(192, 1), split(64, 2), split(64, 3), SHAPE, ("a", "b", "c", "d"),
                    {"name": "blobs", "n_train": 192, "n_val": 64, "n_test": 64}, {})


def _firmware(req):
    """The model alone on random inputs (the KWS firmware needs audio): run on an emulated board, else built."""
    from tinycore.export.firmware import build_only, validate_on_board
    from tinycore.ir import load_graph

    graph = load_graph(req.graph_path)
    if not get_board(req.board).emulated:
        return {**build_only(graph, req.board, req.run_dir / f"fw-{req.board}", measure_sram=False),
                "emulated": False}
    r = validate_on_board(graph, req.board, n=req.n_clips, seed=req.seed)
    return {**r, "outputs_match_runtime": r["outputs_match"]}


@pytest.mark.slow
@pytest.mark.firmware
def test_boards_search_builds_and_runs_one_model_per_board(tmp_path):
    torch.set_num_threads(1)
    space = lambda data: dataclasses.replace(search_space(data), widths=(0.5,))  # noqa: E731  (seconds per epoch)
    task = dataclasses.replace(TASK, search_space=space, train_loader=None, firmware=_firmware,
                               firmware_checks=("outputs_match_runtime",))
    cfg = dataclasses.replace(CFG, samples_per_space=8)
    names = ["stm32f412", "stm32h743"]
    report = boards.boards_search_and_export(task, _data(), RunDir(tmp_path), names, quick=True, seed=0,
                                             progress=False, n_clips=2, config=cfg)
    b = report["search"]["boards"]
    assert [r["board"] for r in b["rows"]] == names and not b["fine_tuned"] and b["seconds"] > 0
    targets = {t.board: t for t in board_targets(names)}
    for row in b["rows"]:
        t = targets[row["board"]]
        assert row["emulated"] == {"stm32f412": "mps2-an386", "stm32h743": "mps2-an500"}[row["board"]]
        assert row["arena_bytes"] <= t.budget.sram_bytes and row["flash_bytes"] <= t.budget.flash_bytes
        assert row["outputs_match_runtime"] is True and row["n_checked"] == 2
        assert isinstance(row["instructions_per_inference"], int) and row["instructions_per_inference"] > row["macs"] / 4
        assert row["board_image_flash_bytes"] > row["flash_bytes"]  # the real board's image holds the model
        assert row["int8_accuracy"] >= 0.5  # 4 blob classes (chance 0.25) straight from a 1-epoch supernet
        sub = RunDir(tmp_path / "boards" / row["board"]).load_report()
        assert sub["firmware"]["board"] == row["emulated"] and sub["board_image"]["board"] == row["board"]
        assert sub["model"]["macs"] == row["macs"]
    assert b["stage1"]["width"] == 0.5
    text = boards.boards_summary(report, "accuracy")
    assert "not fine-tuned" in text and "stm32h743" in text and "cortex-m7 (mps2-an500)" in text
    assert np.isfinite(b["rows"][0]["int8_accuracy"])


def test_unknown_board_fails_before_the_data_are_loaded(tmp_path, capsys):
    from tinycore.cli.app import main

    rc = main(TASK, ["search", "--boards", "stm32f412,stm32f747", "--quick", "--cache-dir", str(tmp_path / "none"),
                     "--out", str(tmp_path / "run")])
    assert rc == 2 and "stm32f746" in capsys.readouterr().err  # the close match is named
    assert not (tmp_path / "none").exists()

"""`demo` end to end on tiny settings: the user's MobileNetV1 trained for one epoch, tinycore.optimize for the
STM32F412's limits, report.json with both models side by side and the firmware equal to the numpy runtime."""
import argparse
from pathlib import Path

import pytest

pytest.importorskip("tinycore.optimize.pipeline")  # the optimize engine (branch h26-optimize) must be merged

from apps.inspect import data as builtin  # noqa: E402
from apps.inspect.data import DatasetSize  # noqa: E402
from apps.inspect.demo import BOARD, run_demo, train_user_model  # noqa: E402
from apps.inspect.task import TASK  # noqa: E402
from tinycore.task import DataOptions  # noqa: E402

TINY = DatasetSize(train=48, val=16, test=16, height=32, width=32)


def test_demo_fits_the_board_and_reports_both_models(tmp_path, monkeypatch):
    from tinycore.optimize import OptimizeConfig, board_budget
    from tinycore.optimize.distill import DistillConfig

    builtin.build(tmp_path / "data", seed=0, size=TINY, progress=False, workers=1)
    monkeypatch.setattr(builtin, "QUICK", TINY)  # load_data's input size follows the set's
    data = TASK.load_data(DataOptions(cache_dir=tmp_path / "data", seed=0, quick=True, progress=False))
    assert data.input_shape == (3, 32, 32) and len(data.train[1]) == 48
    cfg = OptimizeConfig.quick(population=4, generations=1, top_k=1, distill=DistillConfig(epochs=1, qat_epochs=0),
                               firmware_inputs=1, board=BOARD, progress=False)
    args = argparse.Namespace(model=None, quick=True, seed=0, quiet=True, epochs=1)
    from tinycore.budget import Budget

    budget = Budget(board_budget(BOARD).sram_bytes, 144 * 1024)  # the demo's default --model-flash
    report = run_demo(TASK, data, tmp_path / "run", budget, cfg, args=args)
    assert (tmp_path / "run" / "user" / "model.pt").is_file()
    # one report.json in the demo folder: the acceptance check takes the first one `find` lists
    assert [p.relative_to(tmp_path) for p in (tmp_path / "run").rglob("report.json")] == [Path("run/report.json")]
    mem, o, demo = report["memory"], report["optimize"], report["demo"]
    assert mem["sram_peak_bytes"] <= budget.sram_bytes and mem["flash_bytes"] <= budget.flash_bytes
    assert mem["weights_bytes"] <= 144 * 1024
    assert report["firmware"]["outputs_match_runtime"] is True
    assert o["search"]["init"].startswith("the user's weights")  # candidates start from the user's model
    assert demo["user"]["params"] == o["user"]["params"] > 0 and demo["user"]["accuracy"] == o["user"]["accuracy"]
    assert demo["optimized"]["accuracy"] == report["metrics"]["int8"]["accuracy"]
    assert demo["optimized"]["weights_bytes"] == mem["weights_bytes"] and demo["drop_points"] == o["drop_points"]
    assert report["app"] == "inspect" and report["dataset"]["name"] == "inspect_rendered"

    # resumed: the user stage is done, so the same command goes straight on to optimize without training again
    import tinycore.cli.steps as steps

    monkeypatch.setattr(steps, "train", lambda *a, **k: pytest.fail("the finished user model was trained again"))
    assert train_user_model(TASK, data, tmp_path / "run" / "user", args) == tmp_path / "run" / "user" / "model.pt"


def test_demo_budget_takes_the_model_flash_and_macs_limits():
    from apps.inspect.demo import MACS, MODEL_FLASH, demo_budget
    from tinycore.optimize import board_budget
    from tinycore.units import parse_bytes, parse_count

    args = argparse.Namespace(sram=TASK.default_budget[0], flash=TASK.default_budget[1], model_flash=MODEL_FLASH,
                              macs=MACS)
    budget = demo_budget(TASK, BOARD, args)
    assert budget.sram_bytes == board_budget(BOARD).sram_bytes
    assert budget.flash_bytes == parse_bytes(MODEL_FLASH) and budget.macs == parse_count(MACS)
    assert demo_budget(TASK, BOARD, argparse.Namespace(**{**vars(args), "macs": "none"})).macs is None
    assert demo_budget(TASK, BOARD, argparse.Namespace(**{**vars(args), "macs": "10M"})).macs == 10_000_000

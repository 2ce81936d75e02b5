"""`python -m tinycore optimize` argument errors: one line, exit 2, before any work."""
import pytest

from tinycore.cli.tool import main
from tinycore.optimize.data import load_data, split_of


@pytest.mark.parametrize("argv, message", [
    (["m.onnx", "--data", "x"], "give the limits: --board NAME, or --sram S and --flash F"),
    (["m.onnx", "--data", "x", "--board", "stm32f412", "--sram", "1KB"], "give --board or --sram/--flash"),
    (["m.onnx", "--data", "x", "--board", "stm32f413"], "stm32f412"),
])
def test_limit_errors(argv, message, capsys):
    assert main(["optimize", *argv]) == 2
    assert message in capsys.readouterr().err


def test_an_existing_run_needs_resume(tmp_path, capsys):
    (tmp_path / "candidates").mkdir()
    assert main(["optimize", "m.onnx", "--data", "x", "--sram", "4KB", "--flash", "4KB", "--out", str(tmp_path)]) == 2
    assert "pass --resume" in capsys.readouterr().err


def test_unknown_data_names_both_forms():
    from tinycore.errors import DataError

    with pytest.raises(DataError, match="neither a folder nor an app"):
        load_data("no_such_app", (3, 8, 8), quick=True, seed=0)


def test_hash_split_is_stable_and_seeded():
    names = [f"good/img_{i:03d}.png" for i in range(400)]
    a = [split_of(n, 0) for n in names]
    assert a == [split_of(n, 0) for n in names]
    assert a != [split_of(n, 1) for n in names]
    share = {s: a.count(s) / len(a) for s in ("train", "val", "test")}
    assert 0.15 < share["test"] < 0.25 and 0.06 < share["val"] < 0.14



def test_macs_limit_joins_either_form_of_limits():
    import argparse

    from tinycore.optimize.cli import _budget
    from tinycore.optimize.pipeline import board_budget

    board, got = board_budget("stm32f412"), _budget(argparse.Namespace(board="stm32f412", sram=None, flash=None,
                                                                       macs="50M"))
    assert (got.sram_bytes, got.flash_bytes, got.macs) == (board.sram_bytes, board.flash_bytes, 50_000_000)
    assert _budget(argparse.Namespace(board=None, sram="64KB", flash="256KB", macs=None)).macs is None
    assert _budget(argparse.Namespace(board=None, sram="64KB", flash="256KB", macs="800k")).macs == 800_000


def test_help_states_the_configs_defaults(capsys):
    from tinycore.optimize.pipeline import OptimizeConfig

    with pytest.raises(SystemExit):
        main(["optimize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    full, quick = OptimizeConfig(), OptimizeConfig.quick()
    assert f"(default {full.top_k}, --quick {quick.top_k})" in text
    assert f"(default {full.distill.epochs}, --quick {quick.distill.epochs})" in text

"""A run remembers its data source, --quick and --seed; export/eval/firmware read them back unless told otherwise."""
import json

import pytest

from tinycore.cli import run_source
from tinycore.cli.app import _resolve_source, build_parser
from tinycore.report import RunDir
from tinycore.task import Task


def _task() -> Task:
    nothing = lambda *a: None  # noqa: E731
    return Task(name="t", description="", build_data=nothing, load_data=nothing, default_spec=nothing,
                train_settings=nothing, loss=nothing, metric=nothing, evaluate=nothing)


def _args(argv):
    args = build_parser(_task()).parse_args(argv)
    args.task_name = "t"
    _resolve_source(args)
    return args


@pytest.fixture
def quick_run(tmp_path):
    """A run trained with `train --quick --seed 3 --data-dir <tmp>/sc --cache-dir <tmp>/cache`."""
    (tmp_path / "sc").mkdir()
    args = _args(["train", "--quick", "--seed", "3", "--data-dir", str(tmp_path / "sc"), "--cache-dir",
                  str(tmp_path / "cache"), "--out", str(tmp_path / "run")])
    run = RunDir(tmp_path / "run")
    run_source.remember(run, args)
    return run


def test_train_records_absolute_source(quick_run, tmp_path):
    stored = json.loads(quick_run.report_path.read_text())["data_source"]
    assert stored == {"data_dir": str((tmp_path / "sc").resolve()), "cache_dir": str((tmp_path / "cache").resolve()),
                      "quick": True, "seed": 3}


@pytest.mark.parametrize("command", ["export", "eval", "firmware"])
def test_commands_that_read_a_run_take_its_source(quick_run, command, tmp_path, capsys):
    args = _args([command, "--run", str(quick_run.path)])
    assert (args.quick, args.seed, args.data_dir, args.cache_dir) == (
        True, 3, str((tmp_path / "sc").resolve()), str((tmp_path / "cache").resolve()))
    assert args.own_source is True
    assert "using the run's" in capsys.readouterr().err


def test_explicit_flags_override_the_run(quick_run, tmp_path):
    args = _args(["firmware", "--run", str(quick_run.path), "--no-quick", "--seed", "5", "--data-dir",
                  str(tmp_path)])
    assert (args.quick, args.seed, args.data_dir) == (False, 5, str(tmp_path))
    assert args.own_source is False  # other data: eval keeps it beside the run's own figures


def test_new_runs_and_old_runs_get_the_defaults(tmp_path):
    args = _args(["train", "--out", str(tmp_path / "new")])
    assert (args.quick, args.seed, args.data_dir) == (False, 0, None)
    RunDir(tmp_path / "old").update_report(app="t")  # made before runs remembered their source
    args = _args(["export", "--run", str(tmp_path / "old")])
    assert (args.quick, args.seed, args.data_dir, args.own_source) == (False, 0, None, True)

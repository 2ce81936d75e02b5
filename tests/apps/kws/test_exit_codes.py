"""Exit codes that tell the truth: `demo` whose firmware outputs differ from Python's exits 1 with the reason last;
`firmware` on a build-only board builds the image, reports its sizes and flash command, and exits 0.

Both run the real steps on the tiny 4-class run of test_stream (no training: `train` is replaced by the run's
checkpoint), so each takes one firmware build instead of minutes of training."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.apps.kws.test_stream import tiny_run

pytestmark = pytest.mark.firmware


@pytest.fixture
def cli_run(tmp_path_factory, tmp_path, monkeypatch):
    """A copy of the tiny run, and the CLI wired to its data (the data loader is the only step replaced)."""
    import tinycore.cli.app as app

    run, data, _ = tiny_run(tmp_path_factory)
    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    monkeypatch.setattr(app, "_load_data", lambda task, opts, build=False: data)
    return copy


def _main(argv, capsys):
    from apps.kws.task import TASK
    from tinycore.cli.app import main

    rc = main(TASK, argv)
    return rc, *capsys.readouterr()


def test_demo_exits_1_when_firmware_outputs_differ(cli_run, monkeypatch, capsys):
    import apps.kws.firmware_run as fr
    from tinycore.cli import steps

    parse = fr.parse_firmware_output

    def corrupted(text: str, where: str):
        out = parse(text, where)
        first = out.clips[0]["out"]
        out.clips[0]["out"] = bytes([first[0] ^ 1]) + first[1:]  # one output byte off by one bit
        return out

    monkeypatch.setattr(fr, "parse_firmware_output", corrupted)
    monkeypatch.setattr(steps, "train", lambda *a, **k: {})  # the copied run holds the trained checkpoint
    rc, out, err = _main(["demo", "--out", str(cli_run), "--n", "2", "--quiet"], capsys)
    assert rc == 1
    assert "outputs match Python False" in out  # the summary is printed first ...
    last = err.strip().splitlines()[-1]  # ... and the reason is the last line
    assert last.startswith("error: ") and "outputs_match_runtime" in last and "stream_logic_match" not in last
    fw = json.loads((cli_run / "report.json").read_text())["firmware"]
    assert fw["outputs_match_runtime"] is False and fw["outputs_mismatch_windows"] == 1


def test_firmware_on_a_build_only_board_builds_and_succeeds(cli_run, capsys):
    from pathlib import Path

    rc, out, err = _main(["firmware", "--run", str(cli_run), "--board", "stm32f412", "--n", "2", "--json",
                          "--quiet"], capsys)
    assert rc == 0, err
    fw = json.loads(out)
    assert fw["board"] == "stm32f412" and fw["emulated"] is False and fw["n_checked"] == 0
    assert "outputs_match_runtime" not in fw  # nothing was run, so nothing is claimed
    assert Path(fw["bin"]).stat().st_size > fw["test_data_bytes"] > 0 and fw["text_bytes"] > 0
    assert fw["bin"] in fw["flash_command"]
    assert json.loads((cli_run / "report.json").read_text())["firmware"] == fw

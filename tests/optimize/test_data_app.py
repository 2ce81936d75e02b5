"""`python -m tinycore optimize MODEL --data APP`: an app's built-in set end to end (the inspect app's, at a tiny size),
through the CLI: the set is built under data/<app>/quick, the model measured, searched, trained, run in QEMU."""
from __future__ import annotations

import json
import warnings

import pytest
import torch

from tests.optimize.toy import UserNet
from tinycore.cli.tool import main

pytestmark = [pytest.mark.slow, pytest.mark.firmware,
              pytest.mark.filterwarnings("ignore:.*torch.jit.*deprecated:DeprecationWarning")]


def test_optimize_on_an_apps_built_in_set(tmp_path, monkeypatch, capsys):
    from apps.inspect import data

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    tiny = data.DatasetSize(train=48, val=16, test=16, height=24, width=24)
    monkeypatch.setattr(data, "QUICK", tiny)
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    torch.jit.trace(UserNet().eval(), torch.zeros(1, 3, 24, 24)).save(str(tmp_path / "user.pt"))
    code = main(["optimize", str(tmp_path / "user.pt"), "--data", "inspect", "--quick", "--sram", "4KB",
                 "--flash", "4KB", "--top-k", "1", "--epochs", "1", "--max-drop", "100", "--out", "run", "--quiet",
                 "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    meta = json.loads((tmp_path / "data" / "inspect" / "quick" / "meta.json").read_text())
    assert meta["counts"]["train"]["images"] == 48  # the app's own set, built where the app caches it
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["dataset"]["name"] == "inspect_rendered" and report["dataset"]["n_test"] == 16
    assert out["firmware"]["outputs_match_runtime"] is True
    assert out["memory"]["sram_peak_bytes"] <= 4096 and out["memory"]["flash_bytes"] <= 4096

"""App command lines fail fast, in one line, on a bad --model (before any data is built or loaded)."""
import subprocess
import sys

from tests.conftest import ROOT


def _run(*args, tmp):
    return subprocess.run([sys.executable, "-m", "apps.kws", *args, "--cache-dir", str(tmp / "data")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_unknown_zoo_model_names_close_matches_and_builds_nothing(tmp_path):
    p = _run("train", "--model", "ds_cnn_x", "--quick", tmp=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [p.stderr.strip()]  # one line, no traceback
    assert "unknown zoo model 'ds_cnn_x'" in p.stderr and "ds_cnn_s" in p.stderr
    assert not (tmp_path / "data").exists()


def test_missing_spec_file_is_named(tmp_path):
    p = _run("demo", "--model", str(tmp_path / "nope.json"), "--quick", tmp=tmp_path)
    assert p.returncode == 2 and "nope.json: no such spec file" in p.stderr
    assert not (tmp_path / "data").exists()

"""`eval --data-dir` on MLPerf Tiny's KWS evaluation folder (int8 .bin features + y_labels.csv), written here from
a fake test archive's clips through our MLPerf front end, so that scoring it must equal scoring the wavs."""
from __future__ import annotations

import json

import numpy as np
import pytest

from apps.kws.mlperf_bins import REFERENCE_SCALE, REFERENCE_ZERO_POINT, load_bin_data
from apps.kws.task import TASK
from tests.apps.kws.test_eval_data import _archive, _main, _untrained_run
from tests.apps.kws.test_speech_commands import tree  # noqa: F401  (the fixture: a small v0.02 tree)
from tests.tflite.tflm import FIXTURES
from tinycore.audio.wav import DataError
from tinycore.ir import load_graph
from tinycore.runtime.fixedpoint import quantize_float_s8
from tinycore.task import DataOptions

KWS_REF = FIXTURES / "kws_ref_model.tflite"


def _write_bins(arch, out, scale: float, zero_point: int, cache):
    """The archive's clips as MLPerf front-end features quantized with (scale, zero_point): one .bin each."""
    data = TASK.load_data(DataOptions(cache_dir=cache, data_dir=arch, frontend="mlperf", splits=("test",),
                                      progress=False))
    x, y = data.test
    q = quantize_float_s8(x[:, 0], scale, zero_point)
    out.mkdir(parents=True)
    lines = []
    for k, (feat, label) in enumerate(zip(q, y)):
        name = f"tst_{k:06d}_{TASK.name}_{label}.bin"
        (out / name).write_bytes(feat.tobytes())
        lines.append(f"{name},12,{label}")
    (out / "y_labels.csv").write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.skipif(not KWS_REF.is_file(), reason="MLPerf reference model fixture not present")
def test_tflite_on_bins_equals_tflite_on_the_wavs(tmp_path, capsys):
    arch = _archive(tmp_path / "speech_commands_test_set_v0.02", per_class=1)
    bins = _write_bins(arch, tmp_path / "kws01", REFERENCE_SCALE, REFERENCE_ZERO_POINT, tmp_path / "c0")
    rc, out, err = _main(["eval", "--tflite", str(KWS_REF), "--data-dir", str(bins), "--out", str(tmp_path / "a"),
                          "--quiet", "--json"], capsys)
    assert rc == 0, err
    on_bins = json.loads(out)
    rc, out, err = _main(["eval", "--tflite", str(KWS_REF), "--data-dir", str(arch), "--frontend", "mlperf",
                          "--out", str(tmp_path / "b"), "--quiet", "--json", "--cache-dir", str(tmp_path / "c1")],
                         capsys)
    assert rc == 0, err
    on_wavs = json.loads(out)
    assert on_bins["n"] == on_wavs["n"] == 12
    assert on_bins["confusion"] == on_wavs["confusion"] and on_bins["accuracy"] == on_wavs["accuracy"]
    # features quantized with another zero point: refused, both quantizations named
    other = _write_bins(arch, tmp_path / "kws01_zp80", REFERENCE_SCALE, 80, tmp_path / "c0")
    rc, out, err = _main(["eval", "--tflite", str(KWS_REF), "--data-dir", str(other), "--out", str(tmp_path / "c"),
                          "--quiet", "--bin-scale", str(REFERENCE_SCALE), "--bin-zero-point", "80"], capsys)
    last = err.strip().splitlines()[-1]
    assert rc == 2 and "zero point 83 does not match" in last and "zero point 80" in last, err


def test_run_on_bins_is_refused_then_kept_under_its_own_key(tree, tmp_path, capsys):  # noqa: F811
    run = _untrained_run(tmp_path / "run", tree, tmp_path / "cache")
    rc, out, err = _main(["export", "--run", str(run.path), "--frontend", "mlperf", "--quiet"], capsys)
    assert rc == 0, err
    t = load_graph(run.graph_path).input_tensor()
    scale, zp = float(t.scale[0]), int(t.zero_point)
    assert abs(scale - REFERENCE_SCALE) > 1e-3  # calibrated on these clips: not the reference's
    arch = _archive(tmp_path / "speech_commands_test_set_v0.02", per_class=1)
    bins = _write_bins(arch, tmp_path / "kws01", scale, zp, tmp_path / "c0")
    base = ["eval", "--run", str(run.path), "--frontend", "mlperf", "--quiet", "--json"]
    rc, out, err = _main([*base, "--data-dir", str(bins)], capsys)  # assumed: the reference's quantization
    last = err.strip().splitlines()[-1]
    assert rc == 2 and f"scale {scale!r}, zero point {zp} does not match" in last, err
    assert f"scale {REFERENCE_SCALE!r}, zero point {REFERENCE_ZERO_POINT}" in last and "--bin-scale" in last
    rc, out, err = _main([*base, "--data-dir", str(bins), "--bin-scale", repr(scale), "--bin-zero-point", str(zp)],
                         capsys)
    assert rc == 0, err
    on_bins = json.loads(out)
    rc, out, err = _main([*base, "--data-dir", str(arch)], capsys)
    assert rc == 0, err
    on_wavs = json.loads(out)
    assert on_bins["key"] == "mlperf_bins_kws01:test"
    assert on_bins["int8"]["confusion"] == on_wavs["int8"]["confusion"]
    report = json.loads(run.report_path.read_text())
    got = report["evaluations"]["mlperf_bins_kws01:test"]
    assert got["int8"] == on_bins["int8"] and got["dataset"]["n_test"] == 12
    assert got["dataset"]["input_quantization"]["zero_point"] == zp
    assert "speech_commands_test_set_v0.02:test" in report["evaluations"]
    rc, out, err = _main(["eval", "--run", str(run.path), "--frontend", "librosa", "--data-dir", str(bins),
                          "--quiet"], capsys)
    assert rc == 2


def _bins(tmp_path, rows, size: int = 490):
    root = tmp_path / "bins"
    root.mkdir()
    for name, _ in rows:
        (root / name).write_bytes(bytes(size))
    (root / "y_labels.csv").write_text("".join(f"{n},12,{c}\n" for n, c in rows))
    return root


@pytest.mark.parametrize("case, match", [
    ("no_labels", r"y_labels.csv: not found"),
    ("short_bin", r"a.bin: 489 bytes, expected 490 \(49 x 10 int8 features\)"),
    ("class_12", r"y_labels.csv:2: class index 12 is outside 0..11"),
    ("missing_bin", r"b.bin: listed in y_labels.csv but not found"),
    ("bad_line", r"y_labels.csv:1: expected `<file>.bin,<number of classes>,<class index>`"),
    ("train_split", r"evaluation only: .* no train clips"),
])
def test_bad_folders_are_named(tmp_path, case, match):
    root = _bins(tmp_path, [("a.bin", 3), ("b.bin", 12 if case == "class_12" else 4)],
                 size=489 if case == "short_bin" else 490)
    if case == "no_labels":
        (root / "y_labels.csv").unlink()
    elif case == "missing_bin":
        (root / "b.bin").unlink()
    elif case == "bad_line":
        (root / "y_labels.csv").write_text("a.bin;12;3\n")
    splits = ("train",) if case == "train_split" else ("test",)
    with pytest.raises(DataError, match=match):
        load_bin_data(root, splits, None, None)


def test_features_come_back_as_the_files_bytes(tmp_path):
    rng = np.random.default_rng(0)
    q = rng.integers(-128, 128, (3, 49, 10)).astype(np.int8)
    root = tmp_path / "bins"
    root.mkdir()
    for k in range(3):
        (root / f"{k}.bin").write_bytes(q[k].tobytes())
    (root / "y_labels.csv").write_text("0.bin,12,0\n1.bin,12,11\n2.bin,12,5\n")
    data = load_bin_data(root, ("test",), "mlperf", None)
    x, y = data.test
    assert x.shape == (3, 1, 49, 10) and y.tolist() == [0, 11, 5] and len(data.train[1]) == 0
    np.testing.assert_array_equal(quantize_float_s8(x[:, 0], REFERENCE_SCALE, REFERENCE_ZERO_POINT), q)

"""The KWS firmware with the MLPerf front end (`--frontend mlperf`): its C twin in QEMU equals Python.

The tiny run's model was trained on the default features; these checks do not need a model that suits the
features: the firmware's int8 features must equal Python's MLPerf features (boundary flips only) and its model
outputs the numpy runtime's on the firmware's own features.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from apps.kws.firmware_run import run_kws_firmware
from apps.kws.frontend import MLPERF_FRONTEND, frontend_of
from apps.kws.stream import StreamConfig
from tests.apps.kws.test_stream import tiny_run
from tinycore.task import FirmwareRequest

pytestmark = pytest.mark.firmware


def test_mlperf_frontend_in_qemu_equals_python(tmp_path_factory):
    run, data, _ = tiny_run(tmp_path_factory)
    data = replace(data, dataset={**data.dataset, "frontend": MLPERF_FRONTEND.to_dict()})
    assert frontend_of(data.dataset) == MLPERF_FRONTEND
    req = FirmwareRequest(run.path, run.graph_path, "mps2-an386", data, n_clips=4, seed=1, progress=False)
    fw = run_kws_firmware(req, StreamConfig(hop_samples=8000, average_windows=1, threshold=0.4, suppression_ms=800))
    assert fw["n_checked"] == 4 and fw["outputs_match_runtime"] is True and fw["labels_match_python"] is True
    assert fw["feature_values_checked"] == (4 + fw["n_stream_windows"]) * 490
    assert fw["feature_mismatch_values"] <= fw["feature_values_checked"] // 1000  # boundary flips only

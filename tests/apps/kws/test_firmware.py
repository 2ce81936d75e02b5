"""The KWS firmware on mps2-an386 (QEMU): C front end + int8 model + streaming loop, checked against Python.

One build and run of a tiny 4-class model on 4 test clips and a ~6 s stream; every check of the report section
must hold: outputs == numpy runtime on the firmware's own features (strict), labels == Python's, stream detections
== Python's, and the C decision logic == Python's on the firmware's logits."""
from __future__ import annotations

import pytest

from apps.kws.firmware_run import parse_firmware_output, run_kws_firmware
from apps.kws.stream import StreamConfig
from tests.apps.kws.test_stream import tiny_run
from tinycore.errors import BuildError, DataError, UnsupportedError
from tinycore.task import FirmwareRequest

pytestmark = pytest.mark.firmware


@pytest.fixture(scope="module")
def fw_result(tmp_path_factory):
    run, data, _ = tiny_run(tmp_path_factory)
    req = FirmwareRequest(run.path, run.graph_path, "mps2-an386", data, n_clips=4, seed=0, progress=False)
    # threshold 0.4 so that the briefly trained model detects its keywords in the stream
    cfg = StreamConfig(hop_samples=4000, average_windows=2, threshold=0.4, suppression_ms=800)
    return run_kws_firmware(req, cfg), req


def test_all_checks_hold(fw_result):
    fw, _ = fw_result
    assert fw["board"] == "mps2-an386" and fw["n_checked"] == 4 and fw["n_images"] == 1
    assert fw["outputs_match_runtime"] is True and fw["outputs_mismatch_windows"] == 0
    assert fw["labels_match_python"] is True and fw["labels_firmware"] == fw["labels_python"]
    assert fw["stream_logic_match"] is True
    assert fw["stream_detections_match"] is True
    assert fw["feature_values_checked"] == (4 + fw["n_stream_windows"]) * 490
    assert fw["feature_mismatch_values"] <= fw["feature_values_checked"] // 1000  # boundary flips only


def test_stream_is_not_trivial(fw_result):
    fw, _ = fw_result
    s = fw["stream"]
    assert fw["n_stream_windows"] == (round(s["seconds"] * 16000) - 16000) // 4000 + 1
    assert len(s["keywords_placed"]) >= 1
    assert len(s["detections_firmware"]) >= 1  # the match above compared real detections, not two empty lists
    assert [d["time_ms"] for d in s["detections_firmware"]] == [d["time_ms"] for d in s["detections_python"]]


def test_sizes_and_counts(fw_result):
    fw, _ = fw_result
    from pathlib import Path

    assert Path(fw["elf"]).is_file()
    assert fw["text_bytes"] > fw["test_data_bytes"] >= 4 * 32000  # the int16 clips sit in Flash
    # the front end's static RAM: one float frame (480) + one feature row (10) + tc_frontend.c's buffers
    assert fw["frontend_ram_bytes"] == 4 * (480 + 10) + 4 * (512 + 257 + 40)
    assert fw["bss_bytes"] >= fw["arena_bytes"] + fw["frontend_ram_bytes"]
    # measured in QEMU around model_invoke: the kernels' columns are arena scratch, not stack (2,048 B of them would
    # come on top); measured 2,292 B, most of it the DSP depthwise row path's tap tables (about 1.3 KB)
    assert 0 < fw["stack_bytes"] < 2560 and fw["heap_bytes"] > 0
    assert fw["sram_total_bytes"] == fw["data_bytes"] + fw["bss_bytes"] + fw["stack_bytes"] + fw["heap_bytes"]
    assert fw["instructions_per_inference"] > 10_000 and fw["frontend_instructions_per_clip"] > 100_000
    assert type(fw["instructions_per_inference"]) is int and type(fw["frontend_instructions_per_clip"]) is int


def test_parse_rejects_unfinished_or_error_output():
    with pytest.raises(BuildError, match="did not finish"):
        parse_firmware_output("clip 0 label 1 fe 5 model 6\nfeat 00\nout 01\n", "x")
    with pytest.raises(BuildError, match="error model_invoke"):
        parse_firmware_output("error model_invoke returned 3 on clip 0\n", "x")
    got = parse_firmware_output("clip 0 label 1 fe 5 model 6\nfeat 00ff\nout 01\nwin 0 start 0 label 0 fe 1 model 2"
                                "\nfeat 01\nout 7f\ndet 1 1250 40000\ndone\n", "x")
    assert got.clips[0]["feat"] == b"\x00\xff" and got.windows[0]["out"] == b"\x7f"
    assert got.detections == [(1, 1250, 40000)]


def test_bad_requests_raise_typed_errors(fw_result):
    _, req = fw_result
    from dataclasses import replace

    with pytest.raises(UnsupportedError, match="at least one test clip"):
        run_kws_firmware(replace(req, n_clips=0))
    with pytest.raises(DataError, match="no clip manifest"):
        run_kws_firmware(replace(req, data=replace(req.data, extra={})))
    with pytest.raises(UnsupportedError, match="real hardware"):
        from tinycore.export.app_firmware import AppImage, run_app_firmware
        from tinycore.export.firmware import FirmwareImage

        img = FirmwareImage("stm32f746", req.run_dir / "x.elf", req.run_dir / "x.bin", req.run_dir / "x.hex",
                            0, 0, 0, {}, True, "st-flash write x.bin")
        run_app_firmware(AppImage(img, req.run_dir, req.run_dir, 0))


def test_clips_split_over_images_when_flash_is_short(fw_result, monkeypatch):
    """Room for 2 clips per image is computed from the board's Flash; 3 clips then take 2 images and the checks
    hold over all of them."""
    import apps.kws.firmware_run as fr
    from tinycore.export.boards import get_board
    from tinycore.ir import load_graph
    from tinycore.memory import flash_bytes

    fw, req = fw_result
    board, graph = get_board("mps2-an386"), load_graph(req.graph_path)
    stream_bytes = round(fw["stream"]["seconds"] * 16000) * 2
    # margin that leaves room for exactly 2 clips of 32,000 B
    margin = board.flash_bytes - flash_bytes(graph) - stream_bytes - 2 * 32000 - 100
    monkeypatch.setattr(fr, "FLASH_MARGIN_BYTES", margin)
    assert fr.clips_per_image(board, graph, stream_bytes, 32000) == 2
    assert fr.clips_per_image(board, graph, stream_bytes + 101, 32000) == 1  # 100 B of slack above
    monkeypatch.setattr(fr, "FLASH_MARGIN_BYTES", board.flash_bytes)
    with pytest.raises(UnsupportedError, match="leave no room"):
        fr.clips_per_image(board, graph, stream_bytes, 32000)
    from dataclasses import replace

    monkeypatch.setattr(fr, "clips_per_image", lambda *args: 2)
    got = run_kws_firmware(replace(req, n_clips=3), StreamConfig(**fw["stream"]["config"]))
    assert got["n_images"] == 2 and got["n_checked"] == 3 and len(got["labels_firmware"]) == 3
    assert got["outputs_match_runtime"] and got["labels_match_python"] and got["stream_detections_match"]
    assert got["stream_logic_match"]


def test_per_op_profile_in_report(fw_result):
    """issue #19: the firmware step writes firmware.per_op_instructions (integers) and op_profile.png."""
    from pathlib import Path

    from tinycore.ir import load_graph

    fw, req = fw_result
    rows, prof = fw["per_op_instructions"], fw["per_op_profile"]
    assert [r["kind"] for r in rows] == [op.kind for op in load_graph(req.graph_path).ops]
    assert all(type(r["instructions"]) is int and type(r["macs"]) is int for r in rows)
    whole = sum(r["instructions"] for r in rows) + prof["copy_instructions"]
    assert abs(prof["instructions_per_inference_plain"] - whole) <= prof["instrumentation_instructions"]
    assert Path(fw["op_profile_png"]) == Path(req.run_dir) / "op_profile.png" and Path(fw["op_profile_png"]).is_file()

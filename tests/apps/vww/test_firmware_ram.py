"""The VWW firmware keeps nothing model-sized beside the arena (the front end writes the model input into the
arena, hex lines go out in chunks): a whole-frame image of a large-arena model links under the STM32F412's
256 KB, and what the app needs beside the arena stays within TASK.firmware_ram_bytes, the figure `search --boards`
takes off each board's SRAM."""
import numpy as np
import pytest
import torch

from apps.vww.firmware_run import FIRMWARE_DIR
from apps.vww.task import TASK
from tinycore.export.app_firmware import build_app_firmware
from tinycore.export.boards import get_board
from tinycore.export.firmware import HEAP_RESERVE_BYTES
from tinycore.export.stack import ALIGN_BYTES
from tinycore.nas.boards import board_budget
from tinycore.quant import quantize
from tinycore.spec import build_model
from tinycore.spec.zoo import mobilenet_v1_025
from tinycore.vision.cgen import write_vision_c
from tinycore.vision.frontend import FORMAT_CODES, config_for_model

R = 176  # the largest resolution of the VWW search space: the largest input a whole-frame image holds


@pytest.fixture(scope="module")
def big_graph():
    """MobileNetV1 0.25 at 176x176: an arena of ~186 KB, random weights, calibrated on uniform pixels."""
    torch.manual_seed(0)
    model = build_model(mobilenet_v1_025(resolution=R)).eval()
    return quantize(model, [torch.rand(8, 3, R, R, generator=torch.Generator().manual_seed(0))])


def test_whole_frame_image_of_a_large_arena_model_links_on_the_f412(big_graph, tmp_path):
    board = get_board("stm32f412")
    frames = np.random.default_rng(0).integers(0, 256, (1, R, R, 3), dtype=np.uint8)
    vision = tmp_path / "vision"
    sources = write_vision_c(config_for_model(big_graph), vision)
    app = build_app_firmware(big_graph, board, tmp_path, main_c=FIRMWARE_DIR / "main.c", sources=sources,
                             include_dirs=[vision], arrays={"vww_frames": frames.reshape(-1)},
                             defines={"VWW_N_FRAMES": 1, "VWW_FRAME_H": R, "VWW_FRAME_W": R,
                                      "VWW_FORMAT": FORMAT_CODES["rgb888"]})
    img, input_bytes = app.image, R * R * 3
    # the old layout (a copy of the model input and its whole hex line beside the arena) cannot fit this board
    assert app.arena_bytes + input_bytes + 2 * input_bytes + HEAP_RESERVE_BYTES > board.sram_bytes
    assert img.data_bytes + img.bss_bytes - app.arena_bytes < 1024  # nothing model-sized beside the arena
    # the build's stack estimate adds the app's frames and rounds up to ALIGN_BYTES (one more step at most where
    # it skips a guard position): the reserve covers that rounding as well as the app's static RAM
    frames = -(-app.app_frame_bytes // ALIGN_BYTES) * ALIGN_BYTES + ALIGN_BYTES
    assert 0 < app.ram_bytes(["main.c", "tc_vision.c", "app_data.c"]) + frames <= TASK.firmware_ram_bytes
    assert app.arena_bytes <= board_budget(board.name, TASK.firmware_ram_bytes).sram_bytes

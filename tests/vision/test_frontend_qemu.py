"""The image front end's C twin cross-compiled for a Cortex-M4F (mps2-an386) and run in QEMU: the same int8 bytes
as numpy for a frame of each format (RGB888 -> RGB, RGB565 -> RGB, gray8 -> RGB), with its instruction count."""
from __future__ import annotations

import numpy as np
import pytest

from tests.vision.test_frontend import IMAGENET, make_frame
from tinycore.export import firmware as fw
from tinycore.export.app_firmware import data_sources
from tinycore.export.boards import get_board
from tinycore.export.qemu import run_in_qemu
from tinycore.vision.cgen import write_vision_c
from tinycore.vision.frontend import FORMAT_CODES, preprocess

pytestmark = pytest.mark.firmware

FRAMES = {"rgb888": (48, 64), "rgb565": (120, 90), "gray8": (33, 47)}

MAIN_C = r"""
#include <stdint.h>
#include <stdio.h>

#include TC_BOARD_HEADER
#include "app_data.h"
#include "tc_vision.h"
#include "tc_vision_config.h"

#ifndef TC_COUNTER_END
#define TC_COUNTER_BEGIN() ((void)0)
#define TC_COUNTER_END(n) ((n) = 0)
#endif

static int8_t out[TC_VISION_OUT_H * TC_VISION_OUT_W * TC_VISION_CHANNELS];

static int run(const char *name, const void *frame, int32_t format, int32_t h, int32_t w) {
    uint32_t n = 0;
    int32_t rc, i;
    TC_COUNTER_BEGIN();
    rc = tc_vision_preprocess(frame, format, h, w, TC_VISION_OUT_H, TC_VISION_OUT_W, TC_VISION_CHANNELS,
                              tc_vision_table, out);
    TC_COUNTER_END(n);
    printf("frame %s rc %ld instructions %lu\n", name, (long)rc, (unsigned long)n);
    for (i = 0; i < (int32_t)sizeof(out); ++i) {
        printf("%02x", (unsigned)(uint8_t)out[i]);
    }
    printf("\n");
    return rc;
}

int main(void) {
    tc_board_init();
    if (run("rgb888", f_rgb888, FMT_RGB888, H_RGB888, W_RGB888) || run("rgb565", f_rgb565, FMT_RGB565, H_RGB565,
        W_RGB565) || run("gray8", f_gray8, FMT_GRAY8, H_GRAY8, W_GRAY8)) {
        return 1;
    }
    puts("done");
    return 0;
}
"""


def test_qemu_equals_numpy_for_each_format(tmp_path):
    board = get_board("mps2-an386")
    frames = {fmt: make_frame(fmt, *hw, seed=10 + i) for i, (fmt, hw) in enumerate(FRAMES.items())}
    defines = {}
    for fmt, (h, w) in FRAMES.items():
        defines |= {f"FMT_{fmt.upper()}": FORMAT_CODES[fmt], f"H_{fmt.upper()}": h, f"W_{fmt.upper()}": w}
    arrays = {f"f_{fmt}": f.reshape(-1) for fmt, f in frames.items()}
    build = tmp_path / "build"
    sources = [*write_vision_c(IMAGENET, tmp_path / "vision"), data_sources(arrays, defines, build)]
    (tmp_path / "main.c").write_text(MAIN_C)
    jobs = [fw.startup_object(board, build)]
    jobs += [(src, build / f"{src.stem}.o", ('-DTC_BOARD_HEADER="board.h"',))
             for src in [*sources, tmp_path / "main.c"]]
    objects = fw.compile_objects(jobs, board, [tmp_path / "vision", build, *fw.board_include_dirs(board)], "vision")
    img = fw.link_image(objects, board, build / "vision.elf", dsp=False)
    lines = run_in_qemu(img.elf, board, timeout_s=120).splitlines()
    assert lines[-1] == "done"
    heads = [i for i, ln in enumerate(lines) if ln.startswith("frame ")]
    assert len(heads) == 3
    for i in heads:
        print(lines[i])
        _, fmt, _, rc, _, n = lines[i].split()
        want = preprocess(frames[fmt], fmt, IMAGENET)
        assert rc == "0" and int(n) > 0
        assert bytes.fromhex(lines[i + 1]) == want.tobytes(), f"{fmt}: QEMU bytes differ from numpy"

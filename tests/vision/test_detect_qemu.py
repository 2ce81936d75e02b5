"""The box decoder's C twin cross-compiled for a Cortex-M4F (mps2-an386) and run in QEMU: the same rows as Python
for a random int8 head (40x30 cells, 3 classes: a 320x240 input at stride 8), with its instruction count."""
from __future__ import annotations

import numpy as np
import pytest

from tests.vision.test_detect import BOX_Q, HEAT_Q, random_head
from tinycore.export import firmware as fw
from tinycore.export.app_firmware import data_sources
from tinycore.export.boards import get_board
from tinycore.export.qemu import run_in_qemu
from tinycore.vision.cgen import detect_params_c, write_detect_c
from tinycore.vision.detect import DetectConfig, detect_s8, prepare

pytestmark = pytest.mark.firmware

MAIN_C = r"""
#include <stdint.h>
#include <stdio.h>

#include TC_BOARD_HEADER
#include "app_data.h"
#include "tc_detect.h"

#ifndef TC_COUNTER_END
#define TC_COUNTER_BEGIN() ((void)0)
#define TC_COUNTER_END(n) ((n) = 0)
#endif

#include "params.inc"

static tc_det_box_t scratch[MAX_CANDIDATES], out[MAX_DETECTIONS];

int main(void) {
    uint32_t n_instr = 0;
    int32_t n, i;
    tc_board_init();
    TC_COUNTER_BEGIN();
    n = tc_detect_s8(heat, box, &tc_det_params, scratch, out);
    TC_COUNTER_END(n_instr);
    printf("boxes %ld instructions %lu\n", (long)n, (unsigned long)n_instr);
    for (i = 0; i < n; ++i) {
        printf("%ld %ld %ld %ld %ld %ld %ld\n", (long)out[i].cls, (long)out[i].score, (long)out[i].x0,
               (long)out[i].y0, (long)out[i].x1, (long)out[i].y1, (long)out[i].index);
    }
    puts("done");
    return 0;
}
"""


def test_qemu_detect_equals_python(tmp_path):
    board = get_board("mps2-an386")
    heat, box = random_head(np.random.default_rng(7), 30, 40, 3, sparse=True)
    p = prepare(DetectConfig(score_threshold=0.4, max_candidates=64, max_detections=40), heat.shape, HEAT_Q, BOX_Q)
    want = detect_s8(heat, box, p)
    assert 10 <= len(want) <= 40
    build = tmp_path / "build"
    defines = {"MAX_CANDIDATES": p.max_candidates, "MAX_DETECTIONS": p.max_detections}
    sources = [*write_detect_c(tmp_path / "det"),
               data_sources({"heat": heat.reshape(-1), "box": box.reshape(-1)}, defines, build)]
    (tmp_path / "params.inc").write_text(detect_params_c(p))
    (tmp_path / "main.c").write_text(MAIN_C)
    jobs = [fw.startup_object(board, build)]
    jobs += [(src, build / f"{src.stem}.o", ('-DTC_BOARD_HEADER="board.h"',))
             for src in [*sources, tmp_path / "main.c"]]
    objects = fw.compile_objects(jobs, board, [tmp_path / "det", tmp_path, build, *fw.board_include_dirs(board)],
                                 "detect")
    img = fw.link_image(objects, board, build / "detect.elf", dsp=False)
    lines = run_in_qemu(img.elf, board, timeout_s=120).splitlines()
    assert lines[-1] == "done"
    head = next(i for i, ln in enumerate(lines) if ln.startswith("boxes "))
    print(lines[head])
    _, n, _, n_instr = lines[head].split()
    assert int(n) == len(want) and int(n_instr) > 0
    got = np.array([[int(v) for v in ln.split()] for ln in lines[head + 1:head + 1 + int(n)]], np.int32)
    np.testing.assert_array_equal(got, want)

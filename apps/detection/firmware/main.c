/* Detection firmware main loop: camera frame rows -> C image front end (tc_vision) -> patch-based first stage ->
 * rest of the int8 network -> decode + class-wise NMS (tc_detect) -> boxes.
 *
 * The model runs in stream mode: its first stage pulls input rows through tc_read_input_rows, which runs the front
 * end on just those frame rows, so no whole int8 frame is ever in SRAM. The frame has the model's size, so the
 * front end maps each row to itself (its resize is the identity) and a row band equals those rows of the whole
 * frame's output.
 *
 * For each compiled-in frame (app_data.h det_frames, DET_N_FRAMES RGB888 frames) prints (parsed by
 * apps/detection/firmware_run.py):
 *   img <k> model <instructions, front end included> decode <instructions> boxes <n>
 *   out <int8 outputs, heat then box, packed, hex>
 *   box <class> <score_q> <x0> <y0> <x1> <y1> <index>      (n lines, Q8 pixels, best first)
 * then `stack <bytes> heap <bytes>` (the deepest stack around model_invoke_stream) and `done`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include TC_BOARD_HEADER
#include "app_data.h"
#include "model.h"
#include "tc_app_output.h"
#include "tc_detect.h"
#include "tc_vision.h"
#include "tc_vision_config.h"

#if DET_FRAME_H != TC_VISION_OUT_H || DET_FRAME_W != TC_VISION_OUT_W
#error "row streaming needs frames of the model's input size"
#endif
#if MODEL_INPUT_ROW_BYTES != TC_VISION_OUT_W * TC_VISION_CHANNELS
#error "the model input does not match the front end's output"
#endif

#define DET_FRAME_BYTES (DET_FRAME_H * DET_FRAME_W * 3)

extern const tc_det_params_t tc_det_params; /* det_params.c, from tinycore.vision.cgen.detect_params_c */

static const uint8_t *det_frame;
static int32_t det_frontend_errors;
static int8_t det_out[MODEL_OUTPUT_BYTES];
static tc_det_box_t det_scratch[DET_MAX_CANDIDATES], det_boxes[DET_MAX_DETECTIONS];
static char det_line[TC_HEX_LINE_BYTES(MODEL_OUTPUT_BYTES)];

/* The camera driver's side of stream mode: input rows [y0, y1) of the current frame through the front end. */
void tc_read_input_rows(int32_t y0, int32_t y1, int8_t *dst) {
    if (tc_vision_preprocess(det_frame + (size_t)y0 * DET_FRAME_W * 3, TC_VISION_RGB888, y1 - y0, DET_FRAME_W,
                             y1 - y0, TC_VISION_OUT_W, TC_VISION_CHANNELS, tc_vision_table, dst) != 0) {
        ++det_frontend_errors;
    }
}

int main(void) {
    int32_t k, i;
    unsigned long stack_max = 0;
    tc_board_init();
    for (k = 0; k < DET_N_FRAMES; ++k) {
        unsigned long mi = 0, di = 0, stack = 0;
        int32_t rc, n;
        det_frame = &det_frames[(size_t)k * DET_FRAME_BYTES];
        TC_STACK_PAINT();
        TC_COUNTER_BEGIN();
        rc = model_invoke_stream(det_out);
        TC_COUNTER_END(mi);
        TC_STACK_USED(stack);
        if (stack > stack_max) {
            stack_max = stack;
        }
        if (rc != 0 || det_frontend_errors != 0) {
            printf("error model_invoke_stream returned %ld (front end errors %ld) on frame %ld\n", (long)rc,
                   (long)det_frontend_errors, (long)k);
            return 1;
        }
        TC_COUNTER_BEGIN();
        n = tc_detect_s8(det_out + MODEL_OUTPUT0_OFFSET, det_out + MODEL_OUTPUT1_OFFSET, &tc_det_params, det_scratch,
                         det_boxes);
        TC_COUNTER_END(di);
        printf("img %ld model %lu decode %lu boxes %ld\n", (long)k, mi, di, (long)n);
        tc_print_hex("out", det_out, MODEL_OUTPUT_BYTES, det_line);
        for (i = 0; i < n; ++i) {
            printf("box %ld %ld %ld %ld %ld %ld %ld\n", (long)det_boxes[i].cls, (long)det_boxes[i].score,
                   (long)det_boxes[i].x0, (long)det_boxes[i].y0, (long)det_boxes[i].x1, (long)det_boxes[i].y1,
                   (long)det_boxes[i].index);
        }
    }
    printf("stack %lu heap %lu\n", stack_max, tc_heap_used());
    puts("done");
    return 0;
}

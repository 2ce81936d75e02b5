/* VWW firmware main loop: camera frames -> C image front end (tc_vision) -> int8 model -> label and score.
 *
 * For each compiled-in frame (app_data.h vww_frames, VWW_N_FRAMES frames of VWW_FRAME_H x VWW_FRAME_W in format
 * VWW_FORMAT: 0 RGB888 bytes, 1 RGB565 little-endian words) prints (parsed by apps/vww/firmware_run.py):
 *   feat <int8 model input, hex>
 *   img <k> label <argmax> score <out[person] - out[non_person]> fe <instructions> model <instructions>
 *   out <int8 outputs, hex>
 * then `stack <bytes> heap <bytes>` (the deepest stack around the front end and around model_invoke) and `done`.
 * Instruction counts come from the board counter (exact under QEMU -icount), around each call separately.
 *
 * SRAM beside the model's arena is a few bytes: the front end writes the model input straight into the arena
 * (model_input_slot, so model_invoke copies nothing), `feat` is printed from there before the model runs (the
 * inference overwrites it; hence `feat` comes before its frame's `img` line), and hex lines go out in small chunks
 * (tc_print_hex_chunked). A schedule that keeps its input outside the arena (MODEL_INPUT0_IN_ARENA 0) gets a
 * static input buffer instead.
 *
 * With VWW_STREAM (a searched model whose first stage runs by patches in stream mode, tinycore.nas.joint) the
 * model pulls frame rows through tc_read_input_rows, which runs the front end on just those rows: no whole int8
 * frame is in SRAM. The frame then has the model's input size (the front end's resize is the identity, so a row
 * band equals those rows of the whole frame's output); `fe` is 0 and `model` counts the front end too, and no
 * `feat` line is printed (there is no whole model input to print).
 */
#include <stdint.h>
#include <stdio.h>

#include TC_BOARD_HEADER
#include "app_data.h"
#include "model.h"
#include "tc_app_output.h"
#include "tc_vision.h"
#include "tc_vision_config.h"

#if MODEL_INPUT_BYTES != TC_VISION_OUT_H * TC_VISION_OUT_W * TC_VISION_CHANNELS
#error "the model input does not match the front end's output"
#endif
#if MODEL_OUTPUT_BYTES != 2
#error "a VWW model has 2 outputs (non_person, person)"
#endif

#define VWW_PIXEL_VALUES (VWW_FORMAT == 0 ? 3 : 1)
#define VWW_FRAME_VALUES (VWW_FRAME_H * VWW_FRAME_W * VWW_PIXEL_VALUES)

static int8_t vww_out[MODEL_OUTPUT_BYTES];
static unsigned long vww_stack_max;

#ifdef VWW_STREAM
#if VWW_FRAME_H != TC_VISION_OUT_H || VWW_FRAME_W != TC_VISION_OUT_W
#error "row streaming needs frames of the model's input size"
#endif
static int32_t vww_k;
static int32_t vww_frontend_errors;

/* The camera driver's side of stream mode: frame rows [y0, y1) through the front end. */
void tc_read_input_rows(int32_t y0, int32_t y1, int8_t *dst) {
    const size_t at = (size_t)vww_k * VWW_FRAME_VALUES + (size_t)y0 * VWW_FRAME_W * VWW_PIXEL_VALUES;
    if (tc_vision_preprocess(&vww_frames[at], VWW_FORMAT, y1 - y0, VWW_FRAME_W, y1 - y0, TC_VISION_OUT_W,
                             TC_VISION_CHANNELS, tc_vision_table, dst) != 0) {
        ++vww_frontend_errors;
    }
}

static int32_t vww_run(int32_t k, unsigned long *fe, unsigned long *mi) {
    int32_t rc;
    unsigned long stack = 0;
    vww_k = k;
    *fe = 0;
    TC_STACK_PAINT();
    TC_COUNTER_BEGIN();
    rc = model_invoke_stream(vww_out);
    TC_COUNTER_END(*mi);
    TC_STACK_USED(stack);
    vww_stack_max = tc_stack_note(stack);
    return rc != 0 ? rc : (vww_frontend_errors != 0 ? -1 : 0);
}
#else
#if MODEL_INPUT0_IN_ARENA
#define VWW_INPUT (model_input_slot(0))
#else
static int8_t vww_in[MODEL_INPUT_BYTES];
#define VWW_INPUT vww_in
#endif

/* Front end into the model's input, print it, run the model: each call painted and counted on its own. */
static int32_t vww_run(int32_t k, unsigned long *fe, unsigned long *mi) {
    int8_t *in = VWW_INPUT;
    int32_t rc;
    unsigned long stack = 0;
    TC_STACK_PAINT();
    TC_COUNTER_BEGIN();
    rc = tc_vision_preprocess(&vww_frames[k * VWW_FRAME_VALUES], VWW_FORMAT, VWW_FRAME_H, VWW_FRAME_W,
                              TC_VISION_OUT_H, TC_VISION_OUT_W, TC_VISION_CHANNELS, tc_vision_table, in);
    TC_COUNTER_END(*fe);
    TC_STACK_USED(stack);
    vww_stack_max = tc_stack_note(stack);
    if (rc != 0) {
        return rc;
    }
    tc_print_hex_chunked("feat", in, MODEL_INPUT_BYTES); /* before the model overwrites it */
    TC_STACK_PAINT();
    TC_COUNTER_BEGIN();
    rc = model_invoke(in, vww_out);
    TC_COUNTER_END(*mi);
    TC_STACK_USED(stack);
    vww_stack_max = tc_stack_note(stack);
    return rc;
}
#endif

int main(void) {
    int32_t k;
    tc_board_init();
    for (k = 0; k < VWW_N_FRAMES; ++k) {
        unsigned long fe = 0, mi = 0;
        int32_t rc = vww_run(k, &fe, &mi);
        if (rc != 0) {
            printf("error the front end or model_invoke returned %ld on frame %ld\n", (long)rc, (long)k);
            return 1;
        }
        printf("img %ld label %d score %d fe %lu model %lu\n", (long)k, vww_out[1] > vww_out[0] ? 1 : 0,
               (int)vww_out[1] - (int)vww_out[0], fe, mi);
        tc_print_hex_chunked("out", vww_out, MODEL_OUTPUT_BYTES);
    }
    printf("stack %lu heap %lu\n", vww_stack_max, tc_heap_used());
    puts("done");
    return 0;
}

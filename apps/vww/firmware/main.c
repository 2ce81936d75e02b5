/* VWW firmware main loop: camera frames -> C image front end (tc_vision) -> int8 model -> label and score.
 *
 * For each compiled-in frame (app_data.h vww_frames, VWW_N_FRAMES frames of VWW_FRAME_H x VWW_FRAME_W in format
 * VWW_FORMAT: 0 RGB888 bytes, 1 RGB565 little-endian words) prints (parsed by apps/vww/firmware_run.py):
 *   img <k> label <argmax> score <out[person] - out[non_person]> fe <instructions> model <instructions>
 *   feat <int8 model input, hex>
 *   out <int8 outputs, hex>
 * then `stack <bytes> heap <bytes>` (the deepest stack around model_invoke) and `done`.
 * Instruction counts come from the board counter (exact under QEMU -icount), around each call separately.
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

#define VWW_FRAME_VALUES (VWW_FRAME_H * VWW_FRAME_W * (VWW_FORMAT == 0 ? 3 : 1))

static int8_t vww_in[MODEL_INPUT_BYTES];
static int8_t vww_out[MODEL_OUTPUT_BYTES];
static char vww_line[TC_HEX_LINE_BYTES(MODEL_INPUT_BYTES)];

int main(void) {
    int32_t k;
    unsigned long stack_max = 0;
    tc_board_init();
    for (k = 0; k < VWW_N_FRAMES; ++k) {
        unsigned long fe = 0, mi = 0, stack = 0;
        int32_t rc;
        TC_COUNTER_BEGIN();
        rc = tc_vision_preprocess(&vww_frames[k * VWW_FRAME_VALUES], VWW_FORMAT, VWW_FRAME_H, VWW_FRAME_W,
                                  TC_VISION_OUT_H, TC_VISION_OUT_W, TC_VISION_CHANNELS, tc_vision_table, vww_in);
        TC_COUNTER_END(fe);
        if (rc != 0) {
            printf("error tc_vision_preprocess returned %ld on frame %ld\n", (long)rc, (long)k);
            return 1;
        }
        TC_STACK_PAINT();
        TC_COUNTER_BEGIN();
        rc = model_invoke(vww_in, vww_out);
        TC_COUNTER_END(mi);
        TC_STACK_USED(stack);
        if (stack > stack_max) {
            stack_max = stack;
        }
        if (rc != 0) {
            printf("error model_invoke returned %ld on frame %ld\n", (long)rc, (long)k);
            return 1;
        }
        printf("img %ld label %d score %d fe %lu model %lu\n", (long)k, vww_out[1] > vww_out[0] ? 1 : 0,
               (int)vww_out[1] - (int)vww_out[0], fe, mi);
        tc_print_hex("feat", vww_in, MODEL_INPUT_BYTES, vww_line);
        tc_print_hex("out", vww_out, MODEL_OUTPUT_BYTES, vww_line);
    }
    printf("stack %lu heap %lu\n", stack_max, tc_heap_used());
    puts("done");
    return 0;
}

/* Camera frame -> int8 model input: colour conversion, fixed-point bilinear resize, table quantization.
 *
 * C twin of tinycore/vision/frontend.py (preprocess); equal to it byte for byte (tests/vision/test_frontend.py).
 * Integers only, no malloc, no scratch buffer: each output pixel reads its four source pixels from the frame.
 */
#ifndef TC_VISION_H
#define TC_VISION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_VISION_RGB888 0 /* (H, W, 3) uint8 */
#define TC_VISION_RGB565 1 /* (H, W) uint16, r5 g6 b5 from the top bit */
#define TC_VISION_GRAY8 2  /* (H, W) uint8 */

/* frame (format, in_h x in_w) -> out (out_h, out_w, channels) int8, NHWC. channels: 3 (RGB) or 1 (gray).
 * table: channels x 256 int8, the model input value of each pixel value (tinycore.vision.frontend.quant_table).
 * Returns 0, or -1 (out untouched) for an unknown format, channels other than 1 or 3, or a side outside
 * 1..65535 (input) / 1..4096 (output). */
int32_t tc_vision_preprocess(const void *frame, int32_t format, int32_t in_h, int32_t in_w, int32_t out_h,
                             int32_t out_w, int32_t channels, const int8_t *table, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* TC_VISION_H */

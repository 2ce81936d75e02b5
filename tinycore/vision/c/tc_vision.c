/* Camera frame -> int8 model input in integers; see tc_vision.h and tinycore/vision/frontend.py (the semantics). */
#include "tc_vision.h"

#define TC_VISION_Q 8

/* Source index pair and Q8 weight of output index d along an axis of n_in -> n_out (half-pixel centres). */
static void tc_vision_position(int32_t d, int32_t n_in, int32_t n_out, int32_t *i0, int32_t *i1, int32_t *w) {
    int64_t pos = ((int64_t)(2 * d + 1) * n_in * (1 << TC_VISION_Q) + n_out) / (2 * (int64_t)n_out) -
                  (1 << (TC_VISION_Q - 1));
    int64_t hi = (int64_t)(n_in - 1) << TC_VISION_Q;
    pos = pos < 0 ? 0 : (pos > hi ? hi : pos);
    *i0 = (int32_t)(pos >> TC_VISION_Q);
    *i1 = *i0 + 1 < n_in ? *i0 + 1 : n_in - 1;
    *w = (int32_t)(pos & ((1 << TC_VISION_Q) - 1));
}

/* Pixel (y, x) of the frame in the output colour space, values 0..255, into px[0..channels). */
static void tc_vision_pixel(const void *frame, int32_t format, int32_t in_w, int32_t y, int32_t x, int32_t channels,
                            int32_t *px) {
    int32_t r, g, b;
    int32_t i = y * in_w + x;
    if (format == TC_VISION_RGB565) {
        int32_t v = ((const uint16_t *)frame)[i];
        int32_t r5 = v >> 11, g6 = (v >> 5) & 63, b5 = v & 31;
        r = (r5 << 3) | (r5 >> 2);
        g = (g6 << 2) | (g6 >> 4);
        b = (b5 << 3) | (b5 >> 2);
    } else if (format == TC_VISION_GRAY8) {
        r = g = b = ((const uint8_t *)frame)[i];
        if (channels == 1) {
            px[0] = r;
            return;
        }
    } else {
        const uint8_t *p = (const uint8_t *)frame + 3 * i;
        r = p[0];
        g = p[1];
        b = p[2];
    }
    if (channels == 1) {
        px[0] = (77 * r + 150 * g + 29 * b + 128) >> 8; /* BT.601 luma */
    } else {
        px[0] = r;
        px[1] = g;
        px[2] = b;
    }
}

int32_t tc_vision_preprocess(const void *frame, int32_t format, int32_t in_h, int32_t in_w, int32_t out_h,
                             int32_t out_w, int32_t channels, const int8_t *table, int8_t *out) {
    const int32_t one = 1 << TC_VISION_Q;
    int32_t oy, ox, c;
    if (format < TC_VISION_RGB888 || format > TC_VISION_GRAY8 || (channels != 1 && channels != 3) || in_h < 1 ||
        in_w < 1 || in_h > 65535 || in_w > 65535 || out_h < 1 || out_w < 1 || out_h > 4096 || out_w > 4096) {
        return -1;
    }
    for (oy = 0; oy < out_h; ++oy) {
        int32_t y0, y1, fy;
        tc_vision_position(oy, in_h, out_h, &y0, &y1, &fy);
        for (ox = 0; ox < out_w; ++ox) {
            int32_t x0, x1, fx, p00[3], p01[3], p10[3], p11[3];
            tc_vision_position(ox, in_w, out_w, &x0, &x1, &fx);
            tc_vision_pixel(frame, format, in_w, y0, x0, channels, p00);
            tc_vision_pixel(frame, format, in_w, y0, x1, channels, p01);
            tc_vision_pixel(frame, format, in_w, y1, x0, channels, p10);
            tc_vision_pixel(frame, format, in_w, y1, x1, channels, p11);
            for (c = 0; c < channels; ++c) {
                int32_t top = p00[c] * (one - fx) + p01[c] * fx;
                int32_t bottom = p10[c] * (one - fx) + p11[c] * fx;
                int32_t v = (top * (one - fy) + bottom * fy + (1 << (2 * TC_VISION_Q - 1))) >> (2 * TC_VISION_Q);
                *out++ = table[c * 256 + v];
            }
        }
    }
    return 0;
}

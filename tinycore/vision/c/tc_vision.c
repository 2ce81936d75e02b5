/* Camera frame -> int8 model input in integers; see tc_vision.h and tinycore/vision/frontend.py (the semantics). */
#include "tc_vision.h"

#define TC_VISION_Q 8

/* Walks the source positions of output indices 0, 1, ... along an axis of n_in -> n_out (half-pixel centres):
 * pos(d) = ((2 d + 1) n_in 256 + n_out) // (2 n_out) - 128, kept as quotient and remainder of that division and
 * advanced by adding 2 n_in 256, so no division per pixel (all values fit int32 for sides up to 65535). */
typedef struct {
    int32_t q, r, step_q, step_r, den, n_in;
} tc_vision_axis;

static void tc_vision_axis_init(tc_vision_axis *a, int32_t n_in, int32_t n_out) {
    int32_t step = 2 * n_in * (1 << TC_VISION_Q);
    a->den = 2 * n_out;
    a->q = (n_in * (1 << TC_VISION_Q) + n_out) / a->den;
    a->r = (n_in * (1 << TC_VISION_Q) + n_out) % a->den;
    a->step_q = step / a->den;
    a->step_r = step % a->den;
    a->n_in = n_in;
}

/* The current index pair and Q8 weight, then advance to the next output index. */
static void tc_vision_axis_next(tc_vision_axis *a, int32_t *i0, int32_t *i1, int32_t *w) {
    int32_t pos = a->q - (1 << (TC_VISION_Q - 1)), hi = (a->n_in - 1) << TC_VISION_Q;
    pos = pos < 0 ? 0 : (pos > hi ? hi : pos);
    *i0 = pos >> TC_VISION_Q;
    *i1 = *i0 + 1 < a->n_in ? *i0 + 1 : a->n_in - 1;
    *w = pos & ((1 << TC_VISION_Q) - 1);
    a->q += a->step_q;
    a->r += a->step_r;
    if (a->r >= a->den) {
        a->q += 1;
        a->r -= a->den;
    }
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
    tc_vision_axis ya, xa;
    tc_vision_axis_init(&ya, in_h, out_h);
    for (oy = 0; oy < out_h; ++oy) {
        int32_t y0, y1, fy;
        tc_vision_axis_next(&ya, &y0, &y1, &fy);
        tc_vision_axis_init(&xa, in_w, out_w);
        for (ox = 0; ox < out_w; ++ox) {
            int32_t x0, x1, fx, p00[3], p01[3], p10[3], p11[3];
            tc_vision_axis_next(&xa, &x0, &x1, &fx);
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

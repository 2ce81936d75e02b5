/* See tc_detect.h; the arithmetic is tinycore/vision/detect.py's, rule by rule. */
#include "tc_detect.h"

#define TC_DET_BOX_SHIFT 16

/* floor(x / 2**shift + 1/2), without relying on >> of a negative number. */
static int64_t tc_det_round_shift(int64_t x, int shift) {
    int64_t v = x + ((int64_t)1 << (shift - 1));
    int64_t d = (int64_t)1 << shift;
    return v >= 0 ? v / d : -((-v + d - 1) / d);
}

static int32_t tc_det_clip(int64_t v, int32_t hi) {
    return (int32_t)(v < 0 ? 0 : (v > hi ? hi : v));
}

static int tc_det_is_peak(const int8_t *heat, const tc_det_params_t *p, int32_t y, int32_t x, int32_t c) {
    int32_t v = heat[(y * p->grid_w + x) * p->classes + c], dy, dx;
    for (dy = -1; dy <= 1; ++dy) {
        for (dx = -1; dx <= 1; ++dx) {
            int32_t yy = y + dy, xx = x + dx;
            if (yy >= 0 && yy < p->grid_h && xx >= 0 && xx < p->grid_w &&
                heat[(yy * p->grid_w + xx) * p->classes + c] > v) {
                return 0;
            }
        }
    }
    return 1;
}

/* a ranks before b: higher score, then lower index. */
static int tc_det_before(int32_t score_a, int32_t index_a, const tc_det_box_t *b) {
    return score_a > b->score || (score_a == b->score && index_a < b->index);
}

static void tc_det_fill_box(const int8_t *box, const tc_det_params_t *p, int32_t cell, tc_det_box_t *d) {
    int64_t v[4], x0, y0;
    int32_t k, gy = cell / p->grid_w, gx = cell % p->grid_w;
    for (k = 0; k < 4; ++k) {
        v[k] = tc_det_round_shift(((int64_t)box[cell * 4 + k] - p->box_zp) * p->box_mult, TC_DET_BOX_SHIFT);
    }
    if (p->log_size) {
        v[2] = p->size_q8[box[cell * 4 + 2] + 128];
        v[3] = p->size_q8[box[cell * 4 + 3] + 128];
    }
    if (v[2] < 0) v[2] = 0;
    if (v[3] < 0) v[3] = 0;
    x0 = (int64_t)gx * p->stride * 256 + v[0] - v[2] / 2;
    y0 = (int64_t)gy * p->stride * 256 + v[1] - v[3] / 2;
    d->x0 = tc_det_clip(x0, p->img_w * 256);
    d->y0 = tc_det_clip(y0, p->img_h * 256);
    d->x1 = tc_det_clip(x0 + v[2], p->img_w * 256);
    d->y1 = tc_det_clip(y0 + v[3], p->img_h * 256);
}

static int tc_det_iou_above(const tc_det_box_t *a, const tc_det_box_t *b, int32_t iou_q16) {
    int64_t ix0 = a->x0 > b->x0 ? a->x0 : b->x0, ix1 = a->x1 < b->x1 ? a->x1 : b->x1;
    int64_t iy0 = a->y0 > b->y0 ? a->y0 : b->y0, iy1 = a->y1 < b->y1 ? a->y1 : b->y1;
    int64_t iw = ix1 - ix0 > 0 ? ix1 - ix0 : 0, ih = iy1 - iy0 > 0 ? iy1 - iy0 : 0;
    int64_t inter = iw * ih;
    int64_t uni = (int64_t)(a->x1 - a->x0) * (a->y1 - a->y0) + (int64_t)(b->x1 - b->x0) * (b->y1 - b->y0) - inter;
    return inter * 65536 > (int64_t)iou_q16 * uni;
}

int32_t tc_det_nms(const tc_det_box_t *cands, int32_t n, int32_t iou_q16, int32_t max_out, tc_det_box_t *out) {
    int32_t i, k, n_out = 0;
    for (i = 0; i < n && n_out < max_out; ++i) {
        int keep = 1;
        for (k = 0; k < n_out && keep; ++k) {
            if (out[k].cls == cands[i].cls && tc_det_iou_above(&out[k], &cands[i], iou_q16)) {
                keep = 0;
            }
        }
        if (keep) {
            out[n_out++] = cands[i];
        }
    }
    return n_out;
}

int32_t tc_detect_s8(const int8_t *heat, const int8_t *box, const tc_det_params_t *p, tc_det_box_t *scratch,
                     tc_det_box_t *out) {
    int32_t n = 0, y, x, c, j;
    for (y = 0; y < p->grid_h; ++y) {
        for (x = 0; x < p->grid_w; ++x) {
            for (c = 0; c < p->classes; ++c) {
                int32_t index = (y * p->grid_w + x) * p->classes + c, score = heat[index];
                if (score < p->heat_min_q || !tc_det_is_peak(heat, p, y, x, c)) {
                    continue;
                }
                if (n == p->max_candidates && !tc_det_before(score, index, &scratch[n - 1])) {
                    continue;
                }
                /* insertion into the ranked list, dropping the last one when full */
                j = n < p->max_candidates ? n++ : n - 1;
                while (j > 0 && tc_det_before(score, index, &scratch[j - 1])) {
                    scratch[j] = scratch[j - 1];
                    --j;
                }
                scratch[j].cls = c;
                scratch[j].score = score;
                scratch[j].index = index;
                tc_det_fill_box(box, p, y * p->grid_w + x, &scratch[j]);
            }
        }
    }
    return tc_det_nms(scratch, n, p->iou_q16, p->max_detections, out);
}

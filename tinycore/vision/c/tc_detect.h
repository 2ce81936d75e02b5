/* Centre heat-map head (int8) -> class-wise NMS'd box list, integers only.
 *
 * C twin of tinycore/vision/detect.py (detect_s8); the same rows bit for bit (tests/vision/test_detect.py). The
 * rules (int8 threshold, 3x3 peak, rank by score then index, Q8 box arithmetic, integer IoU) are stated there.
 * No malloc: the caller gives a scratch array of max_candidates boxes and an output array of max_detections.
 */
#ifndef TC_DETECT_H
#define TC_DETECT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t cls;   /* class index 0..C-1 */
    int32_t score; /* the heat-map int8 value */
    int32_t x0, y0, x1, y1; /* Q8 pixels (1/256 px), clipped to the picture */
    int32_t index; /* (y * W + x) * C + c, the tie-breaker */
} tc_det_box_t;

typedef struct {
    int32_t grid_h, grid_w, classes, stride, img_h, img_w;
    int32_t heat_min_q; /* 128: nothing passes */
    int32_t box_zp, box_mult; /* v_q8 = round((q - box_zp) * box_mult / 2**16) */
    int32_t iou_q16, max_candidates, max_detections;
    int32_t log_size;      /* 1: box channels 2, 3 are ln(w), ln(h): sizes from size_q8 */
    int32_t size_q8[256];  /* q + 128 -> Q8 pixels, when log_size */
} tc_det_params_t;

/* heat (grid_h, grid_w, classes) and box (grid_h, grid_w, 4) int8, NHWC. Writes at most max_detections boxes to
 * out, best first; returns their number. scratch holds max_candidates boxes. */
int32_t tc_detect_s8(const int8_t *heat, const int8_t *box, const tc_det_params_t *p, tc_det_box_t *scratch,
                     tc_det_box_t *out);

/* Class-wise greedy NMS of n boxes already in rank order; returns how many of them go to out (<= max_out). */
int32_t tc_det_nms(const tc_det_box_t *cands, int32_t n, int32_t iou_q16, int32_t max_out, tc_det_box_t *out);

#ifdef __cplusplus
}
#endif

#endif /* TC_DETECT_H */

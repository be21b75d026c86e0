// Helpers shared by the F(2×2, 3×3) and F(4×4, 3×3) input transforms (clip_winograd.c,
// clip_winograd4.c): private to CTensorKernels.
#ifndef CLIP_WINOGRAD_TILES_H
#define CLIP_WINOGRAD_TILES_H

#include "clip_gemm.h"
#include "clip_math.h"

#include <string.h>

// Rows y0 … y0 + rows − 1, columns x_first … x_first + span − 1 of one (H, W) plane into d
// (rows, ld), zero outside the plane: the padded input rows under one row of tiles.
static inline void clip_winograd_load_rows(const float *plane, long h, long w, long y0, int rows, long x_first,
                                           long span, float *d, long ld) {
    // Columns i of the span inside the plane: [i_lo, i_hi).
    const long i_lo = x_first < 0 ? -x_first : 0;
    const long i_hi = w - x_first < span ? w - x_first : span;
    for (int r = 0; r < rows; r++) {
        const long y = y0 + r;
        float *dr = d + r * ld;
        if (y < 0 || y >= h) {
            for (long i = 0; i < span; i++) dr[i] = 0.0f;
            continue;
        }
        for (long i = 0; i < i_lo; i++) dr[i] = 0.0f;
        memcpy(dr + i_lo, plane + y * w + x_first + i_lo, (size_t)(i_hi - i_lo) * sizeof(float));
        for (long i = i_hi; i < span; i++) dr[i] = 0.0f;
    }
}

// Zeroes channels [c0, c1) of the padding tiles (T … end of panel p1 − 1) in all `blocks` ξ of
// V, so the GEMM's padded columns are zero.
static inline void clip_winograd_zero_padding(float *v, long ci, long tiles, long t_begin, long p1, long c0, long c1,
                                              int blocks, long xi_stride, long panel) {
    for (long c = c0; c < c1; c++) {
        for (long t = tiles > t_begin ? tiles : t_begin; t < p1 * panel; t++) {
            float *dst = v + (t / panel) * ci * panel + c * panel + t % panel;
            for (int x = 0; x < blocks; x++) dst[x * xi_stride] = 0.0f;
        }
    }
}

// One output row of `count` values: row = act(y + residual) (residual NULL: act(y)); y may be
// row itself. Both tiles' output transforms end each row here, as the GEMM epilogue does.
static inline void clip_winograd_finish_row(float *row, const float *y, const float *residual, long count,
                                            int activation) {
    if (residual)
        for (long i = 0; i < count; i++) row[i] = y[i] + residual[i];
    else if (y != row)
        memcpy(row, y, (size_t)count * sizeof(float));
    switch (activation & 0xF) {
    case CLIP_GEMM_QUICK_GELU: quick_gelu_impl(row, row, count); break;
    case CLIP_GEMM_GELU: gelu_impl(row, row, count); break;
    case CLIP_GEMM_RELU: relu_impl(row, row, count); break;
    default: break;
    }
}

#endif

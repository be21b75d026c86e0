// SIMD kernels for the horizontal pass of Pillow's 8-bit bicubic resampling (CLIPImage's
// PillowResample). No public API.
//
// Pillow (Resample.c, ImagingResampleHorizontal_8bpc) sums `pixel * k` in int32 with 22-bit
// fixed-point coefficients k. Every step is a wrapping 32-bit integer operation, so the sum is
// exact modulo 2^32 in any order. The kernels split each coefficient as k = hi * 2^15 + lo
// (0 <= lo < 2^15, hi = k >> 15 fits in int16), take sum(p * lo) and sum(p * hi) with pmaddwd
// (16 x 16 -> 32-bit products summed in pairs, which cannot overflow for p <= 255) and return
// (sum_hi << 15) + sum_lo: the same 32 bits as Pillow's scalar sum, hence the same bytes.
#ifndef CLIP_RESAMPLE_H
#define CLIP_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

/// Kernels `clip_resample_h8` can run (bit mask of the values below).
enum {
    CLIP_KERNEL_AUTO = 0,    // the fastest this CPU supports
    CLIP_KERNEL_SSE41 = 1,   // x86-64 with SSE4.1: 2 taps per step
    CLIP_KERNEL_AVX2 = 2,    // x86-64 with AVX2: 4 taps (16 for one channel) per step
};

/// Bit mask of the kernels this CPU supports (0 on other architectures).
int clip_resample_kernels(void);

/// Taps per output sample in the split table: `ksize` rounded up to a multiple of 16.
int clip_resample_padded_taps(int ksize);

/// Splits `out_width * ksize` fixed-point coefficients into the table the kernels read:
/// for output sample x, `lo[kpad]` then `hi[kpad]` (int16), zero past `ksize`.
/// `table` holds `2 * out_width * kpad` elements, kpad = clip_resample_padded_taps(ksize).
void clip_resample_split(const int32_t *k, int ksize, int out_width, int16_t *table);

/// Horizontal pass for rows `row_begin..<row_end` of `src` (`channels` 1...4 interleaved
/// bytes, rows `src_stride` bytes apart, `src_len` bytes in all: no load reads past it).
/// Output sample x of row r, channel c, goes to
/// `dst[((r - dst_first_row) * out_width + x) * channels + c]`; its taps start at input pixel
/// `starts[x]` and number `counts[x]`. Returns the kernel used, or 0 when `kernel` is not
/// supported here (then nothing was written and the caller runs its scalar code).
int clip_resample_h8(const uint8_t *src, size_t src_len, size_t src_stride, int channels,
                     int row_begin, int row_end, int dst_first_row,
                     const intptr_t *starts, const intptr_t *counts, int out_width,
                     const int16_t *table, int ksize, uint8_t *dst, int kernel);

#endif

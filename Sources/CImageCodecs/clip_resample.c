// Horizontal pass of Pillow 11.0.0's 8-bit bicubic resampling (src/libImaging/Resample.c,
// ImagingResampleHorizontal_8bpc) with SSE4.1 / AVX2, bit-identical to the scalar code in
// CLIPImage's PillowResample (see clip_resample.h for why the coefficient split is exact).
//
// Symbols: C channels (1...4), k 22-bit fixed-point coefficient, lo/hi its 15-bit split,
// n taps of one output sample, kpad taps per sample in the split table.
#include "clip_resample.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { PRECISION_BITS = 22 };

int clip_resample_padded_taps(int ksize) { return (ksize + 15) / 16 * 16; }

void clip_resample_split(const int32_t *k, int ksize, int out_width, int16_t *table) {
    int kpad = clip_resample_padded_taps(ksize);
    for (int x = 0; x < out_width; x++) {
        int16_t *lo = table + (size_t)x * 2 * kpad, *hi = lo + kpad;
        for (int t = 0; t < kpad; t++) {
            int32_t w = t < ksize ? k[(size_t)x * ksize + t] : 0;
            // Arithmetic shift: hi = floor(w / 2^15), so 0 <= lo < 2^15 and w == hi * 2^15 + lo.
            hi[t] = (int16_t)(w >> 15);
            lo[t] = (int16_t)(w & 0x7fff);
        }
    }
}

static inline uint8_t clip8(int32_t sum) {
    int32_t v = sum >> PRECISION_BITS;
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

// One output sample in plain C, for the few whose vector loads would read past the image.
static void sample_scalar(const uint8_t *p, int channels, int n, const int16_t *lo, const int16_t *hi,
                          uint8_t *out) {
    for (int c = 0; c < channels; c++) {
        uint32_t sum = 1u << (PRECISION_BITS - 1);  // wrapping, as the int32 sums in Pillow
        for (int t = 0; t < n; t++) {
            uint32_t w = ((uint32_t)(int32_t)hi[t] << 15) + (uint32_t)lo[t];
            sum += (uint32_t)p[t * channels + c] * w;
        }
        out[c] = clip8((int32_t)sum);
    }
}

#if defined(__x86_64__)

int clip_resample_kernels(void) {
    int mask = 0;
    if (__builtin_cpu_supports("sse4.1")) mask |= CLIP_KERNEL_SSE41;
    if (__builtin_cpu_supports("avx2")) mask |= CLIP_KERNEL_AVX2;
    return mask;
}

// Shared tail: (hi << 15) + lo + half, shift, clamp to 0...255 (packs then packus saturate
// exactly like Pillow's clip8), store `channels` bytes without touching the next sample's.
__attribute__((target("sse4.1")))
static inline void store_sum(__m128i lo, __m128i hi, int channels, uint8_t *out) {
    __m128i s = _mm_add_epi32(_mm_add_epi32(_mm_slli_epi32(hi, 15), lo), _mm_set1_epi32(1 << (PRECISION_BITS - 1)));
    s = _mm_srai_epi32(s, PRECISION_BITS);
    s = _mm_packus_epi16(_mm_packs_epi32(s, s), s);
    uint32_t bytes = (uint32_t)_mm_cvtsi128_si32(s);
    // Constant-size stores: memcpy with a variable length becomes a call to memmove.
    switch (channels) {
    case 1: out[0] = (uint8_t)bytes; break;
    case 2: memcpy(out, &bytes, 2); break;
    case 3: memcpy(out, &bytes, 2); out[2] = (uint8_t)(bytes >> 16); break;
    default: memcpy(out, &bytes, 4); break;
    }
}

// The pshufb mask that turns `pairs` consecutive pairs of pixels into int16 lanes
// (p[t][c], p[t+1][c]) for c = 0...3, zero for channels the image lacks.
static void pair_mask(int channels, int pairs, int8_t *mask) {
    for (int h = 0; h < pairs; h++)
        for (int c = 0; c < 4; c++)
            for (int u = 0; u < 2; u++) {
                int8_t *e = mask + 16 * h + 2 * (2 * c + u);
                e[0] = c < channels ? (int8_t)((2 * h + u) * channels + c) : (int8_t)0x80;
                e[1] = (int8_t)0x80;
            }
}

__attribute__((target("avx2")))
static void h8_avx2(const uint8_t *src, const uint8_t *end, size_t stride, int channels, int row_begin,
                    int row_end, uint8_t *dst, const intptr_t *starts, const intptr_t *counts,
                    int out_width, const int16_t *table, int kpad) {
    int8_t m[32];
    pair_mask(channels, 2, m);
    const __m256i mask = _mm256_loadu_si256((const __m256i *)m);
    // Low 128-bit lane gets taps t, t+1; high lane taps t+2, t+3.
    const __m256i spread = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = src + (size_t)r * stride;
        for (int x = 0; x < out_width; x++, dst += channels) {
            const uint8_t *p = row + (size_t)starts[x] * channels;
            int n = (int)counts[x];
            const int16_t *lo = table + (size_t)x * 2 * kpad, *hi = lo + kpad;
            if (channels == 1) {
                int steps = (n + 15) / 16;  // 16 taps per step, zero coefficients past n
                if (steps > 0 && p + 16 * steps > end) { sample_scalar(p, channels, n, lo, hi, dst); continue; }
                __m256i slo = _mm256_setzero_si256(), shi = _mm256_setzero_si256();
                for (int g = 0; g < steps; g++) {
                    __m256i px = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + 16 * g)));
                    slo = _mm256_add_epi32(slo, _mm256_madd_epi16(px, _mm256_loadu_si256((const __m256i *)(lo + 16 * g))));
                    shi = _mm256_add_epi32(shi, _mm256_madd_epi16(px, _mm256_loadu_si256((const __m256i *)(hi + 16 * g))));
                }
                // Sum the 8 lanes: integer addition, any order.
                __m128i l = _mm_add_epi32(_mm256_castsi256_si128(slo), _mm256_extracti128_si256(slo, 1));
                __m128i h = _mm_add_epi32(_mm256_castsi256_si128(shi), _mm256_extracti128_si256(shi, 1));
                l = _mm_add_epi32(l, _mm_shuffle_epi32(l, 0x4e)); l = _mm_add_epi32(l, _mm_shuffle_epi32(l, 0xb1));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e)); h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
                store_sum(l, h, 1, dst);
                continue;
            }
            int steps = (n + 3) / 4;  // 4 pixels (16 bytes loaded, 4 * channels used) per step
            if (steps > 0 && p + (size_t)(steps - 1) * 4 * channels + 16 > end) {
                sample_scalar(p, channels, n, lo, hi, dst);
                continue;
            }
            __m256i slo = _mm256_setzero_si256(), shi = _mm256_setzero_si256();
            for (int g = 0; g < steps; g++) {
                __m128i bytes = _mm_loadu_si128((const __m128i *)(p + (size_t)g * 4 * channels));
                __m256i px = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(bytes), mask);
                __m256i klo = _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)(lo + 4 * g))), spread);
                __m256i khi = _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)(hi + 4 * g))), spread);
                slo = _mm256_add_epi32(slo, _mm256_madd_epi16(px, klo));
                shi = _mm256_add_epi32(shi, _mm256_madd_epi16(px, khi));
            }
            store_sum(_mm_add_epi32(_mm256_castsi256_si128(slo), _mm256_extracti128_si256(slo, 1)),
                      _mm_add_epi32(_mm256_castsi256_si128(shi), _mm256_extracti128_si256(shi, 1)), channels, dst);
        }
    }
}

__attribute__((target("sse4.1")))
static void h8_sse41(const uint8_t *src, const uint8_t *end, size_t stride, int channels, int row_begin,
                     int row_end, uint8_t *dst, const intptr_t *starts, const intptr_t *counts,
                     int out_width, const int16_t *table, int kpad) {
    int8_t m[16];
    pair_mask(channels, 1, m);
    const __m128i mask = _mm_loadu_si128((const __m128i *)m);
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = src + (size_t)r * stride;
        for (int x = 0; x < out_width; x++, dst += channels) {
            const uint8_t *p = row + (size_t)starts[x] * channels;
            int n = (int)counts[x];
            const int16_t *lo = table + (size_t)x * 2 * kpad, *hi = lo + kpad;
            __m128i slo = _mm_setzero_si128(), shi = _mm_setzero_si128();
            if (channels == 1) {
                int steps = (n + 7) / 8;  // 8 taps per step
                if (steps > 0 && p + 8 * steps > end) { sample_scalar(p, channels, n, lo, hi, dst); continue; }
                for (int g = 0; g < steps; g++) {
                    __m128i px = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(p + 8 * g)));
                    slo = _mm_add_epi32(slo, _mm_madd_epi16(px, _mm_loadu_si128((const __m128i *)(lo + 8 * g))));
                    shi = _mm_add_epi32(shi, _mm_madd_epi16(px, _mm_loadu_si128((const __m128i *)(hi + 8 * g))));
                }
                slo = _mm_add_epi32(slo, _mm_shuffle_epi32(slo, 0x4e)); slo = _mm_add_epi32(slo, _mm_shuffle_epi32(slo, 0xb1));
                shi = _mm_add_epi32(shi, _mm_shuffle_epi32(shi, 0x4e)); shi = _mm_add_epi32(shi, _mm_shuffle_epi32(shi, 0xb1));
                store_sum(slo, shi, 1, dst);
                continue;
            }
            int steps = (n + 1) / 2;  // 2 pixels (8 bytes loaded, 2 * channels used) per step
            if (steps > 0 && p + (size_t)(steps - 1) * 2 * channels + 8 > end) {
                sample_scalar(p, channels, n, lo, hi, dst);
                continue;
            }
            for (int g = 0; g < steps; g++) {
                __m128i px = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)(p + (size_t)g * 2 * channels)), mask);
                int32_t wlo, whi;
                memcpy(&wlo, lo + 2 * g, 4);
                memcpy(&whi, hi + 2 * g, 4);
                slo = _mm_add_epi32(slo, _mm_madd_epi16(px, _mm_set1_epi32(wlo)));
                shi = _mm_add_epi32(shi, _mm_madd_epi16(px, _mm_set1_epi32(whi)));
            }
            store_sum(slo, shi, channels, dst);
        }
    }
}

int clip_resample_h8(const uint8_t *src, size_t src_len, size_t src_stride, int channels,
                     int row_begin, int row_end, int dst_first_row,
                     const intptr_t *starts, const intptr_t *counts, int out_width,
                     const int16_t *table, int ksize, uint8_t *dst, int kernel) {
    if (channels < 1 || channels > 4 || row_begin >= row_end) return 0;
    int available = clip_resample_kernels();
    if (kernel == CLIP_KERNEL_AUTO) kernel = (available & CLIP_KERNEL_AVX2) ? CLIP_KERNEL_AVX2 : CLIP_KERNEL_SSE41;
    if (!(available & kernel)) return 0;
    int kpad = clip_resample_padded_taps(ksize);
    uint8_t *out = dst + (size_t)(row_begin - dst_first_row) * out_width * channels;
    if (kernel == CLIP_KERNEL_AVX2)
        h8_avx2(src, src + src_len, src_stride, channels, row_begin, row_end, out, starts, counts, out_width, table, kpad);
    else
        h8_sse41(src, src + src_len, src_stride, channels, row_begin, row_end, out, starts, counts, out_width, table, kpad);
    return kernel;
}

#else

// Other architectures (arm64): no kernel here; CLIPImage runs its scalar pass.
int clip_resample_kernels(void) { return 0; }

int clip_resample_h8(const uint8_t *src, size_t src_len, size_t src_stride, int channels,
                     int row_begin, int row_end, int dst_first_row,
                     const intptr_t *starts, const intptr_t *counts, int out_width,
                     const int16_t *table, int ksize, uint8_t *dst, int kernel) {
    (void)src; (void)src_len; (void)src_stride; (void)channels; (void)row_begin; (void)row_end;
    (void)dst_first_row; (void)starts; (void)counts; (void)out_width; (void)table; (void)ksize;
    (void)dst; (void)kernel;
    (void)sample_scalar;
    return 0;
}

#endif

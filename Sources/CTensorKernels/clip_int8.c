// int8 GEMM kernels (see include/clip_int8.h).
// Symbols: M rows, K input width, O output channels, K4 = K rounded up to 4, G = K4 / 4 k-groups,
//          MR rows per micro-tile, one panel = 16 output channels.
//
// Packed panel layout (G, 16, 4): for k-group g, channel c of the panel, bytes 4g..4g+3 of
// that channel's row. One k-group of a panel is 64 bytes = two 256-bit registers, the operand
// of vpdpbusd (u8 · s8, four products summed into each int32 lane, no intermediate
// saturation). Without VNNI the same bytes are sign-extended to 16 bits (four registers of
// 4 channels × 4 k) and multiplied with vpmaddwd against the row's four u8 values widened to
// 16 bits: each lane holds two exact products (≤ 2 · 255 · 127 = 64770), never saturating the
// way vpmaddubsw would (it clamps that pair sum to 32767).
#include "clip_int8.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define CLIP_INT8_X86 1
#include <immintrin.h>
#else
#define CLIP_INT8_X86 0
#endif

#pragma clang fp contract(off)

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define PANEL 16
#define MAX_MR 6

ALWAYS_INLINE long round_up(long n, long m) { return (n + m - 1) / m * m; }

// Round to nearest, ties to even, for |t| < 2^22 (adding 1.5 · 2^23 drops the fraction).
ALWAYS_INLINE float round_even(float t) { return (t + 12582912.0f) - 12582912.0f; }

// ---------------------------------------------------------------------------------------------
// CPU features.

int clip_int8_isa_available(int isa) {
    switch (isa) {
    case CLIP_INT8_ISA_AUTO:
    case CLIP_INT8_ISA_SCALAR: return 1;
#if CLIP_INT8_X86
    case CLIP_INT8_ISA_AVX2: return __builtin_cpu_supports("avx2");
    case CLIP_INT8_ISA_VNNI:
        return __builtin_cpu_supports("avx2") &&
               (__builtin_cpu_supports("avxvnni") ||
                (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")));
#endif
    default: return 0;
    }
}

int clip_int8_isa_best(void) {
    static int cached = -1;
    int best = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (best >= 0) return best;
    int cap = CLIP_INT8_ISA_VNNI;
    const char *env = getenv("CLIP_INT8_ISA");
    if (env) {
        if (strcmp(env, "scalar") == 0) cap = CLIP_INT8_ISA_SCALAR;
        else if (strcmp(env, "avx2") == 0) cap = CLIP_INT8_ISA_AVX2;
    }
    best = CLIP_INT8_ISA_SCALAR;
    for (int isa = CLIP_INT8_ISA_AVX2; isa <= cap; isa++)
        if (clip_int8_isa_available(isa)) best = isa;
    __atomic_store_n(&cached, best, __ATOMIC_RELAXED);
    return best;
}

// ---------------------------------------------------------------------------------------------
// Weights: quantise and pack (once, at load).

void clip_int8_quantize_weights(const float *w, long O, long K, int8_t *wq, float *sw) {
    for (long o = 0; o < O; o++) {
        const float *row = w + o * K;
        float maxabs = 0;
        for (long k = 0; k < K; k++) {
            float a = row[k] < 0 ? -row[k] : row[k];
            maxabs = a > maxabs ? a : maxabs;
        }
        float s = maxabs > 0 ? maxabs / 127.0f : 1.0f;
        sw[o] = s;
        for (long k = 0; k < K; k++) {
            float t = row[k] / s;
            t = t > 127.0f ? 127.0f : (t < -127.0f ? -127.0f : t);
            wq[o * K + k] = (int8_t)round_even(t);
        }
    }
}

long clip_int8_packed_bytes(long O, long K) { return round_up(O, PANEL) * round_up(K, 4); }

void clip_int8_pack_weights(const int8_t *wq, long O, long K, int8_t *packed, int32_t *wsum) {
    long K4 = round_up(K, 4), O16 = round_up(O, PANEL), G = K4 / 4;
    memset(packed, 0, (size_t)(O16 * K4));
    for (long o = 0; o < O16; o++) {
        int32_t sum = 0;
        if (o < O) {
            int8_t *panel = packed + (o / PANEL) * PANEL * K4;
            long c = o % PANEL;
            for (long k = 0; k < K; k++) {
                int8_t v = wq[o * K + k];
                panel[(k / 4) * 64 + c * 4 + (k % 4)] = v;
                sum += v;
            }
        }
        wsum[o] = sum;
    }
    (void)G;
}

// ---------------------------------------------------------------------------------------------
// Activations: per-row dynamic quantisation (every call).

ALWAYS_INLINE void quantize_rows_impl(const float *x, long ldx, long m0, long m1, long K, uint8_t *xq, float *sx,
                                      int32_t *zx) {
    long K4 = round_up(K, 4);
    for (long m = m0; m < m1; m++) {
        const float *row = x + m * ldx;
        float lo = 0, hi = 0;
        for (long k = 0; k < K; k++) {
            lo = row[k] < lo ? row[k] : lo;
            hi = row[k] > hi ? row[k] : hi;
        }
        float s = hi > lo ? (hi - lo) / 255.0f : 1.0f;
        float z = round_even(-lo / s);
        z = z > 255.0f ? 255.0f : z;
        float inv = 1.0f / s;
        uint8_t *q = xq + m * K4;
        for (long k = 0; k < K; k++) {
            float t = row[k] * inv + z;
            t = t < 0.0f ? 0.0f : (t > 255.0f ? 255.0f : t);
            q[k] = (uint8_t)(int32_t)round_even(t);
        }
        for (long k = K; k < K4; k++) q[k] = 0;
        sx[m] = s;
        zx[m] = (int32_t)z;
    }
}

#if CLIP_INT8_X86
// The same arithmetic as quantize_rows_impl, 32 values at a time (mul then add, no FMA; the
// clamp before rounding keeps cvtps in range, and it rounds to nearest even like round_even).
__attribute__((target("avx2"))) static void quantize_rows_avx2(const float *x, long ldx, long m0, long m1, long K,
                                                                uint8_t *xq, float *sx, int32_t *zx) {
    long K4 = round_up(K, 4);
    for (long m = m0; m < m1; m++) {
        const float *row = x + m * ldx;
        __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps();
        long k = 0;
        for (; k + 8 <= K; k += 8) {
            __m256 v = _mm256_loadu_ps(row + k);
            vlo = _mm256_min_ps(vlo, v);
            vhi = _mm256_max_ps(vhi, v);
        }
        float lanes_lo[8], lanes_hi[8];
        _mm256_storeu_ps(lanes_lo, vlo);
        _mm256_storeu_ps(lanes_hi, vhi);
        float lo = 0, hi = 0;
        for (int j = 0; j < 8; j++) {
            lo = lanes_lo[j] < lo ? lanes_lo[j] : lo;
            hi = lanes_hi[j] > hi ? lanes_hi[j] : hi;
        }
        for (; k < K; k++) {
            lo = row[k] < lo ? row[k] : lo;
            hi = row[k] > hi ? row[k] : hi;
        }
        float s = hi > lo ? (hi - lo) / 255.0f : 1.0f;
        float z = round_even(-lo / s);
        z = z > 255.0f ? 255.0f : z;
        float inv = 1.0f / s;
        uint8_t *q = xq + m * K4;
        __m256 vinv = _mm256_set1_ps(inv), vz = _mm256_set1_ps(z), v0 = _mm256_setzero_ps(),
               v255 = _mm256_set1_ps(255.0f);
        k = 0;
        for (; k + 32 <= K; k += 32) {
            __m256i i[4];
            for (int j = 0; j < 4; j++) {
                __m256 t = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(row + k + 8 * j), vinv), vz);
                t = _mm256_min_ps(_mm256_max_ps(t, v0), v255);
                i[j] = _mm256_cvtps_epi32(t);
            }
            // packs work within 128-bit lanes: (0 1 | 2 3) interleave, fixed by one permute.
            __m256i w01 = _mm256_packus_epi32(i[0], i[1]), w23 = _mm256_packus_epi32(i[2], i[3]);
            __m256i b = _mm256_packus_epi16(w01, w23);
            b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(q + k), b);
        }
        for (; k < K; k++) {
            float t = row[k] * inv + z;
            t = t < 0.0f ? 0.0f : (t > 255.0f ? 255.0f : t);
            q[k] = (uint8_t)(int32_t)round_even(t);
        }
        for (k = K; k < K4; k++) q[k] = 0;
        sx[m] = s;
        zx[m] = (int32_t)z;
    }
}
#endif

void clip_int8_quantize_rows(const float *x, long ldx, long m0, long m1, long K, uint8_t *xq, float *sx,
                             int32_t *zx) {
#if CLIP_INT8_X86
    if (clip_int8_isa_best() >= CLIP_INT8_ISA_AVX2) {
        quantize_rows_avx2(x, ldx, m0, m1, K, xq, sx, zx);
        return;
    }
#endif
    quantize_rows_impl(x, ldx, m0, m1, K, xq, sx, zx);
}

// ---------------------------------------------------------------------------------------------
// Micro-tiles: c (mr, 16) = Σ_g a rows (mr, 4) · panel group (16, 4)ᵀ, exact int32.

static void tile_scalar(const uint8_t *a, long lda, const int8_t *b, long G, int mr, int32_t *c, long ldc) {
    for (int r = 0; r < mr; r++) {
        int32_t acc[PANEL] = {0};
        const uint8_t *ar = a + r * lda;
        for (long g = 0; g < G; g++) {
            const int8_t *bg = b + g * 64;
            for (int j = 0; j < PANEL; j++) {
                acc[j] += (int32_t)ar[4 * g] * bg[4 * j] + (int32_t)ar[4 * g + 1] * bg[4 * j + 1] +
                          (int32_t)ar[4 * g + 2] * bg[4 * j + 2] + (int32_t)ar[4 * g + 3] * bg[4 * j + 3];
            }
        }
        memcpy(c + r * ldc, acc, sizeof acc);
    }
}

#if CLIP_INT8_X86
ALWAYS_INLINE int32_t load_u32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

// vpdpbusd tile, MR rows (a compile-time constant after inlining): 2·MR accumulators.
#define DEFINE_VNNI_TILE(name, target_attr, dpbusd)                                                      \
    __attribute__((target(target_attr))) ALWAYS_INLINE void name##_impl(                              \
        const uint8_t *a, long lda, const int8_t *b, long G, const int MR, int32_t *c, long ldc) {     \
        __m256i acc[MAX_MR][2];                                                                       \
        for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();                  \
        for (long g = 0; g < G; g++) {                                                                \
            __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + g * 64));                           \
            __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + g * 64 + 32));                      \
            for (int r = 0; r < MR; r++) {                                                            \
                __m256i ar = _mm256_set1_epi32(load_u32(a + r * lda + 4 * g));                        \
                acc[r][0] = dpbusd(acc[r][0], ar, b0);                                                \
                acc[r][1] = dpbusd(acc[r][1], ar, b1);                                                \
            }                                                                                         \
        }                                                                                             \
        for (int r = 0; r < MR; r++) {                                                                \
            _mm256_storeu_si256((__m256i *)(c + r * ldc), acc[r][0]);                                 \
            _mm256_storeu_si256((__m256i *)(c + r * ldc + 8), acc[r][1]);                             \
        }                                                                                             \
    }                                                                                                 \
    __attribute__((target(target_attr))) static void name(const uint8_t *a, long lda, const int8_t *b, \
                                                          long G, int mr, int32_t *c, long ldc) {     \
        switch (mr) {                                                                                 \
        case 6: name##_impl(a, lda, b, G, 6, c, ldc); break;                                          \
        case 5: name##_impl(a, lda, b, G, 5, c, ldc); break;                                          \
        case 4: name##_impl(a, lda, b, G, 4, c, ldc); break;                                          \
        case 3: name##_impl(a, lda, b, G, 3, c, ldc); break;                                          \
        case 2: name##_impl(a, lda, b, G, 2, c, ldc); break;                                          \
        default: name##_impl(a, lda, b, G, 1, c, ldc); break;                                         \
        }                                                                                             \
    }

DEFINE_VNNI_TILE(tile_avxvnni, "avx2,avxvnni", _mm256_dpbusd_avx_epi32)
DEFINE_VNNI_TILE(tile_avx512vnni, "avx2,avx512vnni,avx512vl", _mm256_dpbusd_epi32)

// AVX2 without VNNI: exact 16-bit widening. The driver widens each block of activation rows to
// int16 once (`widen_rows`), so a row's four values are one 64-bit broadcast. A register of the
// widened panel holds 4 channels × 4 k as int16; vpmaddwd against (a0 a1 a2 a3) repeated gives
// per channel two partial sums (k0·a0 + k1·a1, k2·a2 + k3·a3) in adjacent int32 lanes, folded
// with vphaddd at the end. The panel is taken in two halves of 8 channels so MR = 6 rows fit
// the 16 registers (12 accumulators, 2 weights, 1 broadcast) and each weight widening serves
// six rows.
__attribute__((target("avx2"))) ALWAYS_INLINE void tile_avx2_impl(const uint8_t *a, long lda, const int8_t *b,
                                                                  long G, const int MR, int32_t *c, long ldc) {
    const int16_t *a16 = (const int16_t *)a;
    long lda16 = lda / 2;
    for (int h = 0; h < 2; h++) {
        __m256i acc[MAX_MR][2];
        for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
        for (long g = 0; g < G; g++) {
            const int8_t *bg = b + g * 64 + h * 32;
            __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)bg));
            __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bg + 16)));
            for (int r = 0; r < MR; r++) {
                int64_t four;
                memcpy(&four, a16 + r * lda16 + 4 * g, 8);
                __m256i ar = _mm256_set1_epi64x(four);
                acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(ar, w0));
                acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(ar, w1));
            }
        }
        for (int r = 0; r < MR; r++) {
            // hadd(x, y) = [x01 x23 y01 y23 | x45 x67 y45 y67]: channels (0 1 4 5 | 2 3 6 7) → reorder.
            __m256i sums = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), 0xD8);
            _mm256_storeu_si256((__m256i *)(c + r * ldc + h * 8), sums);
        }
    }
}

__attribute__((target("avx2"))) static void tile_avx2(const uint8_t *a, long lda, const int8_t *b, long G, int mr,
                                                      int32_t *c, long ldc) {
    switch (mr) {
    case 6: tile_avx2_impl(a, lda, b, G, 6, c, ldc); break;
    case 5: tile_avx2_impl(a, lda, b, G, 5, c, ldc); break;
    case 4: tile_avx2_impl(a, lda, b, G, 4, c, ldc); break;
    case 3: tile_avx2_impl(a, lda, b, G, 3, c, ldc); break;
    case 2: tile_avx2_impl(a, lda, b, G, 2, c, ldc); break;
    default: tile_avx2_impl(a, lda, b, G, 1, c, ldc); break;
    }
}

// rows (n, K4) u8 → (n, K4) int16, for the AVX2 tile.
__attribute__((target("avx2"))) static void widen_rows(const uint8_t *x, long n, long K4, int16_t *y) {
    for (long i = 0; i < n * K4; i++) y[i] = x[i];
}
#endif

typedef void (*tile_fn)(const uint8_t *, long, const int8_t *, long, int, int32_t *, long);

static tile_fn select_tile(int isa) {
    if (isa == CLIP_INT8_ISA_AUTO) isa = clip_int8_isa_best();
    if (!clip_int8_isa_available(isa)) isa = CLIP_INT8_ISA_SCALAR;
#if CLIP_INT8_X86
    if (isa == CLIP_INT8_ISA_VNNI)
        return __builtin_cpu_supports("avxvnni") ? tile_avxvnni : tile_avx512vnni;
    if (isa == CLIP_INT8_ISA_AVX2) return tile_avx2;
#endif
    return tile_scalar;
}

// ---------------------------------------------------------------------------------------------
// GEMM drivers: for each block of rows, every panel of the range, so a panel is reused from
// cache across the rows of the block.

#define ROW_BLOCK 48

// The rows a tile reads: the u8 rows themselves, or (AVX2) a block of them widened to int16.
typedef struct {
    const uint8_t *base;  // row mb of the block
    long lda;             // bytes between rows
    int16_t *wide;        // ROW_BLOCK · K4 int16 (AVX2 only)
} row_block;

static row_block block_rows(tile_fn tile, const uint8_t *xq, long K4, long mb, long me, int16_t *wide) {
    row_block r = {xq + mb * K4, K4, NULL};
#if CLIP_INT8_X86
    if (tile == tile_avx2) {
        widen_rows(xq + mb * K4, me - mb, K4, wide);
        r.base = (const uint8_t *)wide;
        r.lda = 2 * K4;
        r.wide = wide;
    }
#else
    (void)tile, (void)me, (void)wide;
#endif
    return r;
}

static int16_t *wide_buffer(tile_fn tile, long K4) {
#if CLIP_INT8_X86
    if (tile == tile_avx2) return (int16_t *)malloc(sizeof(int16_t) * ROW_BLOCK * K4);
#else
    (void)tile, (void)K4;
#endif
    return NULL;
}

void clip_int8_gemm_s32(const uint8_t *xq, long K, const int8_t *packed, long m0, long m1, long p0, long p1,
                        int32_t *acc, long ldacc, int isa) {
    tile_fn tile = select_tile(isa);
    long K4 = round_up(K, 4), G = K4 / 4;
    int16_t *wide = wide_buffer(tile, K4);
    for (long mb = m0; mb < m1; mb += ROW_BLOCK) {
        long me = mb + ROW_BLOCK < m1 ? mb + ROW_BLOCK : m1;
        row_block rows = block_rows(tile, xq, K4, mb, me, wide);
        for (long p = p0; p < p1; p++) {
            const int8_t *panel = packed + p * PANEL * K4;
            for (long m = mb; m < me; m += MAX_MR) {
                int mr = (int)(me - m < MAX_MR ? me - m : MAX_MR);
                tile(rows.base + (m - mb) * rows.lda, rows.lda, panel, G, mr, acc + m * ldacc + p * PANEL, ldacc);
            }
        }
    }
    free(wide);
}

// y[r][j] = sx[r] · sw[j] · (c[r][j] − zx[r] · wsum[j]) (+ bias[j]) for a (mr, width ≤ 16) tile.
ALWAYS_INLINE void epilogue_impl(const int32_t *c, int mr, const float *sx, const int32_t *zx, const float *sw,
                                 const int32_t *wsum, const float *bias, long width, float *y, long ldy) {
    for (int r = 0; r < mr; r++) {
        float *yr = y + r * ldy;
        const int32_t *cr = c + r * PANEL;
        float s = sx[r];
        int32_t z = zx[r];
        for (long j = 0; j < width; j++) {
            float v = s * sw[j] * (float)(cr[j] - z * wsum[j]);
            yr[j] = bias ? v + bias[j] : v;
        }
    }
}

#if CLIP_INT8_X86
// The same arithmetic, 8 channels at a time ((s · sw) · float(c − z · wsum), then + bias).
__attribute__((target("avx2"))) static void epilogue_avx2(const int32_t *c, int mr, const float *sx,
                                                          const int32_t *zx, const float *sw, const int32_t *wsum,
                                                          const float *bias, long width, float *y, long ldy) {
    if (width != PANEL) {
        epilogue_impl(c, mr, sx, zx, sw, wsum, bias, width, y, ldy);
        return;
    }
    __m256 w[2], b[2];
    __m256i ws[2];
    for (int h = 0; h < 2; h++) {
        w[h] = _mm256_loadu_ps(sw + 8 * h);
        ws[h] = _mm256_loadu_si256((const __m256i *)(wsum + 8 * h));
        b[h] = bias ? _mm256_loadu_ps(bias + 8 * h) : _mm256_setzero_ps();
    }
    for (int r = 0; r < mr; r++) {
        __m256 s = _mm256_set1_ps(sx[r]);
        __m256i z = _mm256_set1_epi32(zx[r]);
        for (int h = 0; h < 2; h++) {
            __m256i acc = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(c + r * PANEL + 8 * h)),
                                           _mm256_mullo_epi32(z, ws[h]));
            __m256 v = _mm256_mul_ps(_mm256_mul_ps(s, w[h]), _mm256_cvtepi32_ps(acc));
            if (bias) v = _mm256_add_ps(v, b[h]);
            _mm256_storeu_ps(y + r * ldy + 8 * h, v);
        }
    }
}
#endif

static int isa_of(tile_fn tile) { return tile == tile_scalar ? CLIP_INT8_ISA_SCALAR : CLIP_INT8_ISA_AVX2; }

static void epilogue(const int32_t *c, int mr, const float *sx, const int32_t *zx, const float *sw,
                     const int32_t *wsum, const float *bias, long width, float *y, long ldy, int isa) {
#if CLIP_INT8_X86
    if (isa != CLIP_INT8_ISA_SCALAR) {
        epilogue_avx2(c, mr, sx, zx, sw, wsum, bias, width, y, ldy);
        return;
    }
#endif
    (void)isa;
    epilogue_impl(c, mr, sx, zx, sw, wsum, bias, width, y, ldy);
}

void clip_int8_linear_f32(const uint8_t *xq, const float *sx, const int32_t *zx, long K, const int8_t *packed,
                          const int32_t *wsum, const float *sw, const float *bias, long O, long m0, long m1,
                          long p0, long p1, float *y, long ldy, int isa) {
    tile_fn tile = select_tile(isa);
    long K4 = round_up(K, 4), G = K4 / 4;
    int32_t c[MAX_MR * PANEL];
    int16_t *wide = wide_buffer(tile, K4);
    for (long mb = m0; mb < m1; mb += ROW_BLOCK) {
        long me = mb + ROW_BLOCK < m1 ? mb + ROW_BLOCK : m1;
        row_block rows = block_rows(tile, xq, K4, mb, me, wide);
        for (long p = p0; p < p1; p++) {
            const int8_t *panel = packed + p * PANEL * K4;
            long o0 = p * PANEL, width = O - o0 < PANEL ? O - o0 : PANEL;
            for (long m = mb; m < me; m += MAX_MR) {
                int mr = (int)(me - m < MAX_MR ? me - m : MAX_MR);
                tile(rows.base + (m - mb) * rows.lda, rows.lda, panel, G, mr, c, PANEL);
                epilogue(c, mr, sx + m, zx + m, sw + o0, wsum + o0, bias ? bias + o0 : NULL, width,
                         y + m * ldy + o0, ldy, isa_of(tile));
            }
        }
    }
    free(wide);
}

// Inference GEMM (see include/clip_gemm.h): tiles of up to 12 weight rows × 32 columns held in
// registers (AVX-512: 24 zmm accumulators; AVX2: two passes of 6 × 16 with 12 ymm; a panel with
// at most 16 real columns computes only those 16), each weight
// value broadcast from the row in place, the packed panel streamed from L1/L2.
//   N weight rows, K depth, M columns (tokens or output pixels), R rows in a tile (≤ 12)
#include "clip_gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clip_half.h"
#include "clip_math.h"

#define TILE_ROWS 12
#define PANEL CLIP_GEMM_PANEL

// MARK: - Packing

#if defined(__x86_64__)
#include <immintrin.h>

// X (M, K) rows → panel columns, 8 rows × 8 depths at a time through an in-register 8 × 8
// transpose (the scalar loop below does the same copies one float at a time). Copies only,
// so the bits are those of the scalar path.
__attribute__((target("avx2"))) static void pack_rows8_avx2(const float *x, long ld, long k, float *panel) {
    long i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 r0 = _mm256_loadu_ps(x + 0 * ld + i), r1 = _mm256_loadu_ps(x + 1 * ld + i);
        __m256 r2 = _mm256_loadu_ps(x + 2 * ld + i), r3 = _mm256_loadu_ps(x + 3 * ld + i);
        __m256 r4 = _mm256_loadu_ps(x + 4 * ld + i), r5 = _mm256_loadu_ps(x + 5 * ld + i);
        __m256 r6 = _mm256_loadu_ps(x + 6 * ld + i), r7 = _mm256_loadu_ps(x + 7 * ld + i);
        const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
        r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
        r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
        r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
        r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
        r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
        r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
        r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
        float *dst = panel + i * PANEL;
        _mm256_storeu_ps(dst + 0 * PANEL, r0);
        _mm256_storeu_ps(dst + 1 * PANEL, r1);
        _mm256_storeu_ps(dst + 2 * PANEL, r2);
        _mm256_storeu_ps(dst + 3 * PANEL, r3);
        _mm256_storeu_ps(dst + 4 * PANEL, r4);
        _mm256_storeu_ps(dst + 5 * PANEL, r5);
        _mm256_storeu_ps(dst + 6 * PANEL, r6);
        _mm256_storeu_ps(dst + 7 * PANEL, r7);
    }
    for (; i < k; i++)
        for (int t = 0; t < 8; t++) panel[i * PANEL + t] = x[t * ld + i];
}
#endif

// Eight rows of X (M, K) from `x` into columns 0…7 of `panel` (K, 32).
static void pack_rows8(const float *x, long ld, long k, float *panel) {
#if defined(__x86_64__)
    if (clip_gemm_level() > 0) {
        pack_rows8_avx2(x, ld, k, panel);
        return;
    }
#endif
    for (long i = 0; i < k; i++)
        for (int t = 0; t < 8; t++) panel[i * PANEL + t] = x[t * ld + i];
}

void clip_gemm_pack(const float *x, long ld, int rows_are_columns, long m, long k, long p0, long p1,
                    float *panels) {
    for (long p = p0; p < p1; p++) {
        float *panel = panels + p * k * PANEL;  // (K, 32)
        const long first = p * PANEL;
        const long valid = m - first < PANEL ? m - first : PANEL;
        if (rows_are_columns) {
            // X (M, K): column j of the panel is row first + j of X. Blocks of 8 rows keep the
            // writes within a few cache lines.
            long j = 0;
            for (; j + 8 <= valid; j += 8) pack_rows8(x + (first + j) * ld, ld, k, panel + j);
            for (; j < valid; j++) {
                const float *src = x + (first + j) * ld;
                for (long i = 0; i < k; i++) panel[i * PANEL + j] = src[i];
            }
            for (; j < PANEL; j++)
                for (long i = 0; i < k; i++) panel[i * PANEL + j] = 0.0f;
        } else {
            // X (K, M): row i of the panel is a contiguous run of row i of X.
            for (long i = 0; i < k; i++) {
                const float *src = x + i * ld + first;
                float *dst = panel + i * PANEL;
                long j = 0;
                for (; j < valid; j++) dst[j] = src[j];
                for (; j < PANEL; j++) dst[j] = 0.0f;
            }
        }
    }
}

// MARK: - Epilogue (shared by every ISA path; contraction is off, so the same bits)

// buf (R, 32): raw sums of rows n … n + R − 1 for columns m0 … m0 + 31, of which `valid` exist.
ALWAYS_INLINE void epilogue_valid(int rows, float *buf, long valid, long n, long m0, float *out, long ldo,
                                  int transposed, const float *scale, const float *shift, int activation,
                                  const float *residual, long ldr) {
    const int residual_first = residual && (activation & CLIP_GEMM_RESIDUAL_FIRST);
    for (int r = 0; r < rows; r++) {
        float *row = buf + r * PANEL;
        if (scale) {
            const float s = scale[n + r];
            for (int j = 0; j < PANEL; j++) row[j] = row[j] * s;
        }
        if (shift && (activation & CLIP_GEMM_COLUMN_SHIFT)) {
            const float *t = shift + m0;
            for (long j = 0; j < valid; j++) row[j] = row[j] + t[j];
        } else if (shift) {
            const float t = shift[n + r];
            for (int j = 0; j < PANEL; j++) row[j] = row[j] + t;
        }
        if (residual_first && !transposed) {
            const float *res = residual + (n + r) * ldr + m0;
            for (long j = 0; j < valid; j++) row[j] = row[j] + res[j];
        } else if (residual_first) {
            for (long j = 0; j < valid; j++) row[j] = row[j] + residual[(m0 + j) * ldr + n + r];
        }
        switch (activation & 0xF) {
        case CLIP_GEMM_QUICK_GELU: quick_gelu_impl(row, row, PANEL); break;
        case CLIP_GEMM_GELU: gelu_impl(row, row, PANEL); break;
        case CLIP_GEMM_RELU: relu_impl(row, row, PANEL); break;
        default: break;
        }
    }
    if (residual_first) residual = 0;
    if (transposed) {
        for (long j = 0; j < valid; j++) {
            float *o = out + (m0 + j) * ldo + n;
            if (residual) {
                const float *res = residual + (m0 + j) * ldr + n;
                for (int r = 0; r < rows; r++) o[r] = buf[r * PANEL + j] + res[r];
            } else {
                for (int r = 0; r < rows; r++) o[r] = buf[r * PANEL + j];
            }
        }
    } else {
        for (int r = 0; r < rows; r++) {
            float *o = out + (n + r) * ldo + m0;
            const float *row = buf + r * PANEL;
            if (residual) {
                const float *res = residual + (n + r) * ldr + m0;
                for (long j = 0; j < valid; j++) o[j] = row[j] + res[j];
            } else {
                for (long j = 0; j < valid; j++) o[j] = row[j];
            }
        }
    }
}

// A whole panel (every tile but a matrix's last) with `valid` a constant: its loops become a few
// fixed-length vector operations (with `valid` variable, each row's copy to `out` was a memmove
// call: 6 % of RN50's batch-1 profile, ~2 % of ViT-B/32's at batch 16).
ALWAYS_INLINE void epilogue(int rows, float *buf, long valid, long n, long m0, float *out, long ldo,
                            int transposed, const float *scale, const float *shift, int activation,
                            const float *residual, long ldr) {
    if (valid == PANEL)
        epilogue_valid(rows, buf, PANEL, n, m0, out, ldo, transposed, scale, shift, activation, residual, ldr);
    else
        epilogue_valid(rows, buf, valid, n, m0, out, ldo, transposed, scale, shift, activation, residual, ldr);
}

// Panels visited together by every row block: as many as fit in about 384 KB (a share of
// L2), so the weights stream once per group while the group stays in cache.
static long group_panels(long k) {
    const long bytes = k * PANEL * (long)sizeof(float);
    const long g = (384L << 10) / (bytes > 0 ? bytes : 1);
    return g < 1 ? 1 : g;
}

// Whether rows `ld` floats apart share one L1 set at every depth. L1 has 64 sets of 64-byte
// lines (4 KB per way, 8 ways on Zen 4, 12 on Zen 5): rows 4 KB · j apart (K = 1024, 2048,
// 3072, 4096 — a ViT `c_proj` input, every input of ViT-L/14) put all of a tile's broadcast
// lines in one set, and 12 rows thrash an 8-way set.
ALWAYS_INLINE int rows_alias(long ld) { return ((ld * (long)sizeof(float)) & 4095) == 0; }

// The tile loop over balanced row blocks and panels; `tile` fills buf. A block has at most
// TILE_ROWS rows, or `alias_rows` where W's rows alias in L1: the AVX-512 tile takes 8 then, which
// one set holds (measured on Zen 4: ViT-L/14 `c_fc` at batch 1 150–189 → 216–222 GFLOP/s,
// ViT-B/32 `c_proj` at batch 16 183–208 → 210–219, as fast as with rows padded apart); the AVX2
// tile reads 6 rows per pass anyway. Each output is one FMA chain whatever the blocks, so the
// bits do not depend on them.
#define COMPUTE_BODY(tile, alias_rows)                                                                \
    float buf[TILE_ROWS * PANEL] __attribute__((aligned(64)));                                        \
    const long rows = n1 - n0;                                                                        \
    const long tile_rows = rows_alias(ldw) ? (alias_rows) : TILE_ROWS;                                \
    const long blocks = (rows + tile_rows - 1) / tile_rows;                                           \
    const long group = group_panels(k);                                                               \
    for (long g0 = p0; g0 < p1; g0 += group) {                                                        \
        const long g1 = g0 + group < p1 ? g0 + group : p1;                                            \
        for (long b = 0; b < blocks; b++) {                                                           \
            const long r0 = n0 + rows * b / blocks, r1 = n0 + rows * (b + 1) / blocks;                \
            const int count = (int)(r1 - r0);                                                         \
            for (long p = g0; p < g1; p++) {                                                          \
                const long valid = m - p * PANEL < PANEL ? m - p * PANEL : PANEL;                     \
                tile(count, valid, k, w + r0 * ldw, ldw, panels + (p - first) * k * PANEL, buf);      \
                epilogue(count, buf, valid, r0, p * PANEL, out, ldo, transposed, scale, shift,         \
                         activation, residual, ldr);                                                  \
            }                                                                                         \
        }                                                                                             \
    }

// `panels` holds panel `first` onwards (0: all of them; a task packing its own panels: its first).
#define COMPUTE_PARAMS                                                                                 \
    (const float *w, long ldw, long n0, long n1, const float *panels, long first, long m, long k,      \
     long p0, long p1, float *out, long ldo, int transposed, const float *scale, const float *shift,    \
     int activation, const float *residual, long ldr)

// Columns a tile computes for `valid` real columns of its panel: the first half alone when the
// rest is padding (a text at batch 1 has 9 or so tokens), else all 32. Every computed output is
// the same FMA chain either way; skipped columns are left as zeros for the epilogue.
ALWAYS_INLINE int tile_columns(long valid) { return valid <= PANEL / 2 ? PANEL / 2 : PANEL; }

ALWAYS_INLINE void zero_skipped_columns(int rows, int columns, float *buf) {
    if (columns == PANEL) return;
    for (int r = 0; r < rows; r++)
        for (int j = columns; j < PANEL; j++) buf[r * PANEL + j] = 0.0f;
}

// MARK: - Portable path (any CPU; fmaf keeps the single-rounding chain)

static void tile_scalar(int rows, long valid, long k, const float *w, long ldw, const float *panel, float *buf) {
    const int columns = tile_columns(valid);
    for (int r = 0; r < rows; r++) {
        float acc[PANEL];
        for (int j = 0; j < columns; j++) acc[j] = 0.0f;
        const float *wr = w + r * ldw;
        for (long i = 0; i < k; i++)
            for (int j = 0; j < columns; j++) acc[j] = fmaf(wr[i], panel[i * PANEL + j], acc[j]);
        for (int j = 0; j < columns; j++) buf[r * PANEL + j] = acc[j];
    }
    zero_skipped_columns(rows, columns, buf);
}

static void compute_scalar COMPUTE_PARAMS { COMPUTE_BODY(tile_scalar, TILE_ROWS) }

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))

// R rows × 32 columns in 2R zmm accumulators. R is a constant after inlining into the switch.
AVX512 ALWAYS_INLINE void tile512_rows(const int rows, long k, const float *w, long ldw, const float *panel,
                                       float *buf) {
    __m512 c0[TILE_ROWS], c1[TILE_ROWS];
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        c0[r] = _mm512_setzero_ps();
        c1[r] = _mm512_setzero_ps();
    }
    for (long i = 0; i < k; i++) {
        const __m512 b0 = _mm512_load_ps(panel + i * PANEL), b1 = _mm512_load_ps(panel + i * PANEL + 16);
#pragma clang loop unroll(full)
        for (int r = 0; r < rows; r++) {
            const __m512 a = _mm512_set1_ps(w[r * ldw + i]);
            c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        _mm512_store_ps(buf + r * PANEL, c0[r]);
        _mm512_store_ps(buf + r * PANEL + 16, c1[r]);
    }
}

// R rows × the first 16 columns in R zmm accumulators (a panel that is mostly padding).
AVX512 ALWAYS_INLINE void tile512_half_rows(const int rows, long k, const float *w, long ldw, const float *panel,
                                            float *buf) {
    __m512 c0[TILE_ROWS];
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) c0[r] = _mm512_setzero_ps();
    for (long i = 0; i < k; i++) {
        const __m512 b0 = _mm512_load_ps(panel + i * PANEL);
#pragma clang loop unroll(full)
        for (int r = 0; r < rows; r++) c0[r] = _mm512_fmadd_ps(_mm512_set1_ps(w[r * ldw + i]), b0, c0[r]);
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        _mm512_store_ps(buf + r * PANEL, c0[r]);
        _mm512_store_ps(buf + r * PANEL + 16, _mm512_setzero_ps());
    }
}

AVX512 static void tile512_half(int rows, long k, const float *w, long ldw, const float *panel, float *buf) {
    switch (rows) {
    case 1: tile512_half_rows(1, k, w, ldw, panel, buf); break;
    case 2: tile512_half_rows(2, k, w, ldw, panel, buf); break;
    case 3: tile512_half_rows(3, k, w, ldw, panel, buf); break;
    case 4: tile512_half_rows(4, k, w, ldw, panel, buf); break;
    case 5: tile512_half_rows(5, k, w, ldw, panel, buf); break;
    case 6: tile512_half_rows(6, k, w, ldw, panel, buf); break;
    case 7: tile512_half_rows(7, k, w, ldw, panel, buf); break;
    case 8: tile512_half_rows(8, k, w, ldw, panel, buf); break;
    case 9: tile512_half_rows(9, k, w, ldw, panel, buf); break;
    case 10: tile512_half_rows(10, k, w, ldw, panel, buf); break;
    case 11: tile512_half_rows(11, k, w, ldw, panel, buf); break;
    default: tile512_half_rows(12, k, w, ldw, panel, buf); break;
    }
}

AVX512 static void tile512(int rows, long valid, long k, const float *w, long ldw, const float *panel, float *buf) {
    if (tile_columns(valid) < PANEL) {
        tile512_half(rows, k, w, ldw, panel, buf);
        return;
    }
    switch (rows) {
    case 1: tile512_rows(1, k, w, ldw, panel, buf); break;
    case 2: tile512_rows(2, k, w, ldw, panel, buf); break;
    case 3: tile512_rows(3, k, w, ldw, panel, buf); break;
    case 4: tile512_rows(4, k, w, ldw, panel, buf); break;
    case 5: tile512_rows(5, k, w, ldw, panel, buf); break;
    case 6: tile512_rows(6, k, w, ldw, panel, buf); break;
    case 7: tile512_rows(7, k, w, ldw, panel, buf); break;
    case 8: tile512_rows(8, k, w, ldw, panel, buf); break;
    case 9: tile512_rows(9, k, w, ldw, panel, buf); break;
    case 10: tile512_rows(10, k, w, ldw, panel, buf); break;
    case 11: tile512_rows(11, k, w, ldw, panel, buf); break;
    default: tile512_rows(12, k, w, ldw, panel, buf); break;
    }
}

AVX512 static void compute512 COMPUTE_PARAMS { COMPUTE_BODY(tile512, 8) }

// R ≤ 6 rows × 16 columns in 2R ymm accumulators; `panel` and `buf` point at the half.
AVX2 ALWAYS_INLINE void tile256_rows(const int rows, long k, const float *w, long ldw, const float *panel,
                                     float *buf) {
    __m256 c0[6], c1[6];
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        c0[r] = _mm256_setzero_ps();
        c1[r] = _mm256_setzero_ps();
    }
    for (long i = 0; i < k; i++) {
        const __m256 b0 = _mm256_load_ps(panel + i * PANEL), b1 = _mm256_load_ps(panel + i * PANEL + 8);
#pragma clang loop unroll(full)
        for (int r = 0; r < rows; r++) {
            const __m256 a = _mm256_broadcast_ss(w + r * ldw + i);
            c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < rows; r++) {
        _mm256_store_ps(buf + r * PANEL, c0[r]);
        _mm256_store_ps(buf + r * PANEL + 8, c1[r]);
    }
}

AVX2 static void tile256(int rows, long valid, long k, const float *w, long ldw, const float *panel, float *buf) {
    const int halves = tile_columns(valid) / 16;
    for (int r0 = 0; r0 < rows; r0 += 6) {
        const int count = rows - r0 < 6 ? rows - r0 : 6;
        for (int half = 0; half < halves; half++) {
            const float *wr = w + r0 * ldw, *pp = panel + 16 * half;
            float *bb = buf + r0 * PANEL + 16 * half;
            switch (count) {
            case 1: tile256_rows(1, k, wr, ldw, pp, bb); break;
            case 2: tile256_rows(2, k, wr, ldw, pp, bb); break;
            case 3: tile256_rows(3, k, wr, ldw, pp, bb); break;
            case 4: tile256_rows(4, k, wr, ldw, pp, bb); break;
            case 5: tile256_rows(5, k, wr, ldw, pp, bb); break;
            default: tile256_rows(6, k, wr, ldw, pp, bb); break;
            }
        }
    }
    zero_skipped_columns(rows, halves * 16, buf);
}

AVX2 static void compute256 COMPUTE_PARAMS { COMPUTE_BODY(tile256, TILE_ROWS) }

static int detected_level(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
    return 0;
}
#else
static int detected_level(void) { return 0; }
#endif

// -1: not detected yet. Races are benign (every thread computes the same value).
static int cached_level = -1;
static int forced_level = -1;

// CLIP_GEMM=blas (BLAS everywhere, the engine before this kernel) or avx2 (no AVX-512) caps
// the level for comparisons; unset or anything else: the best the CPU has.
static int environment_level(int level) {
    const char *v = getenv("CLIP_GEMM");
    if (v && strcmp(v, "blas") == 0) return 0;
    if (v && strcmp(v, "avx2") == 0 && level > 1) return 1;
    return level;
}

int clip_gemm_level(void) {
    if (cached_level < 0) cached_level = environment_level(detected_level());
    if (forced_level >= 0 && forced_level < cached_level) return forced_level;
    return cached_level;
}

int clip_gemm_best_level(void) {
    if (cached_level < 0) cached_level = environment_level(detected_level());
    return cached_level;
}

int clip_gemm_limit_level(int level) {
    const int previous = forced_level;
    forced_level = level;
    return previous;
}

// MARK: - fp16 weights (widened per row block into scratch; the same bits as widened weights)

typedef void (*tile_function)(int rows, long valid, long k, const float *w, long ldw, const float *panel, float *buf);

static tile_function current_tile(void) {
    switch (clip_gemm_level()) {
#if defined(__x86_64__)
    case 2: return tile512;
    case 1: return tile256;
#endif
    default: return tile_scalar;
    }
}

long clip_gemm_compute_half(const unsigned short *w, long ldw, long n0, long n1, const float *panels, long m, long k,
                            long p0, long p1, float *out, long ldo, int transposed, const float *scale,
                            const float *shift, int activation, const float *residual, long ldr) {
    const tile_function tile = current_tile();
    // R rows of W widened, (R, K) with a stride that does not alias in L1: widening is exact,
    // so the tiles see the fp32 weights' values.
    const long ld_f32 = rows_alias(k) ? k + 16 : k;
    float *rows_f32 = malloc((size_t)TILE_ROWS * (size_t)(ld_f32 > 0 ? ld_f32 : 1) * sizeof(float));
    if (!rows_f32) abort();
    float buf[TILE_ROWS * PANEL] __attribute__((aligned(64)));
    const long rows = n1 - n0;
    const long blocks = (rows + TILE_ROWS - 1) / TILE_ROWS;
    const long group = group_panels(k);
    long nonfinite = 0;  // counted by the widening at no extra pass (a row may be counted once per group)
    for (long g0 = p0; g0 < p1; g0 += group) {
        const long g1 = g0 + group < p1 ? g0 + group : p1;
        for (long b = 0; b < blocks; b++) {
            const long r0 = n0 + rows * b / blocks, r1 = n0 + rows * (b + 1) / blocks;
            const int count = (int)(r1 - r0);
            for (int r = 0; r < count; r++)
                nonfinite += clip_half_to_float(w + (r0 + r) * ldw, rows_f32 + r * ld_f32, k);
            for (long p = g0; p < g1; p++) {
                const long valid = m - p * PANEL < PANEL ? m - p * PANEL : PANEL;
                tile(count, valid, k, rows_f32, ld_f32, panels + p * k * PANEL, buf);
                epilogue(count, buf, valid, r0, p * PANEL, out, ldo, transposed, scale, shift, activation, residual,
                         ldr);
            }
        }
    }
    free(rows_f32);
    return nonfinite;
}

long clip_gemm_pack_half(const unsigned short *x, long ld, long m, long k, long p0, long p1, float *panels) {
    // Up to 32 rows widened, (32, K), then packed as fp32 rows: the same panels as from widened rows.
    float *rows_f32 = malloc((size_t)PANEL * (size_t)(k > 0 ? k : 1) * sizeof(float));
    if (!rows_f32) abort();
    long nonfinite = 0;
    for (long p = p0; p < p1; p++) {
        const long first = p * PANEL;
        const long valid = m - first < PANEL ? m - first : PANEL;
        for (long r = 0; r < valid; r++) nonfinite += clip_half_to_float(x + (first + r) * ld, rows_f32 + r * k, k);
        clip_gemm_pack(rows_f32, k, 1, valid, k, 0, 1, panels + p * k * PANEL);
    }
    free(rows_f32);
    return nonfinite;
}

static void compute_from COMPUTE_PARAMS {
    switch (clip_gemm_level()) {
#if defined(__x86_64__)
    case 2: compute512(w, ldw, n0, n1, panels, first, m, k, p0, p1, out, ldo, transposed, scale, shift, activation, residual, ldr); return;
    case 1: compute256(w, ldw, n0, n1, panels, first, m, k, p0, p1, out, ldo, transposed, scale, shift, activation, residual, ldr); return;
#endif
    default: compute_scalar(w, ldw, n0, n1, panels, first, m, k, p0, p1, out, ldo, transposed, scale, shift, activation, residual, ldr); return;
    }
}

void clip_gemm_compute(const float *w, long ldw, long n0, long n1, const float *panels, long m, long k, long p0,
                       long p1, float *out, long ldo, int transposed, const float *scale, const float *shift,
                       int activation, const float *residual, long ldr) {
    compute_from(w, ldw, n0, n1, panels, 0, m, k, p0, p1, out, ldo, transposed, scale, shift, activation, residual,
                 ldr);
}

// MARK: - Weights packed per call (x's rows broadcast)

long clip_gemm_linear_packing(const void *w, int w_is_half, long ldw, long n, long k, long p0, long p1,
                              const float *x, long ldx, long m, float *out, long ldo, const float *shift,
                              int activation, const float *residual, long ldr) {
    // One panel (K, 32) of W's rows at a time, then every row block of x over it: the product
    // of clip_gemm_compute with the operands' roles swapped, so the same FMA chains.
    float *panel = aligned_alloc(64, (size_t)(k > 0 ? k : 1) * PANEL * sizeof(float));
    if (!panel) abort();
    long nonfinite = 0;
    for (long p = p0; p < p1; p++) {
        const long first = p * PANEL;
        const long valid = n - first < PANEL ? n - first : PANEL;
        if (w_is_half)
            nonfinite += clip_gemm_pack_half((const unsigned short *)w + first * ldw, ldw, valid, k, 0, 1, panel);
        else
            clip_gemm_pack((const float *)w + first * ldw, ldw, 1, valid, k, 0, 1, panel);
        compute_from(x, ldx, 0, m, panel, p, n, k, p, p + 1, out, ldo, 0, NULL, shift,
                     activation | CLIP_GEMM_COLUMN_SHIFT, residual, ldr);
    }
    free(panel);
    return nonfinite;
}

// MARK: - Convolutions packed from the image

// One run of a panel's columns inside one output row: output pixels (oy, ox) for ox in
// [ox0, ox1), written to columns j0 … of every panel row (zero where the window leaves the image).
static void conv_pack_run(const float *image, const clip_conv_geometry *g, long oy, long ox0, long ox1, int j0,
                          float *panel) {
    const long n = ox1 - ox0;
    long row = 0;
    for (long c = 0; c < g->channels; c++) {
        const float *plane = image + c * g->height * g->width;
        for (long ky = 0; ky < g->kernel_h; ky++) {
            const long y = oy * g->stride_h - g->pad_h + ky;
            for (long kx = 0; kx < g->kernel_w; kx++, row++) {
                float *dst = panel + row * PANEL + j0;
                if (y < 0 || y >= g->height) {
                    for (long t = 0; t < n; t++) dst[t] = 0.0f;
                    continue;
                }
                // Output pixels whose input column x = ox · stride − pad + kx is inside the image.
                const long offset = kx - g->pad_w, s = g->stride_w, last = g->width - 1 - offset;
                long lo = offset >= 0 ? 0 : (-offset + s - 1) / s, hi = last < 0 ? 0 : last / s + 1;
                if (lo < ox0) lo = ox0;
                if (lo > ox1) lo = ox1;
                if (hi > ox1) hi = ox1;
                if (hi < lo) hi = lo;
                const float *line = plane + y * g->width;
                long t = 0;
                for (; t < lo - ox0; t++) dst[t] = 0.0f;
                if (s == 1) {
                    if (hi > lo) memcpy(dst + t, line + lo + offset, (size_t)(hi - lo) * sizeof(float));
                    t += hi - lo;
                } else {
                    for (long ox = lo; ox < hi; ox++, t++) dst[t] = line[ox * s + offset];
                }
                for (; t < n; t++) dst[t] = 0.0f;
            }
        }
    }
}

void clip_conv_pack(const float *image, const clip_conv_geometry *g, long p0, long p1, float *panels) {
    const long k = g->channels * g->kernel_h * g->kernel_w, m = g->out_h * g->out_w;
    const int pointwise = g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 &&
                          g->pad_h == 0 && g->pad_w == 0;
    for (long p = p0; p < p1; p++) {
        float *panel = panels + (p - p0) * k * PANEL;
        const long first = p * PANEL, valid = m - first < PANEL ? m - first : PANEL;
        if (pointwise) {
            // The image (Ci, H·W) is the (K, M) matrix itself: row i of the panel is a run of row i.
            for (long i = 0; i < k; i++) memcpy(panel + i * PANEL, image + i * m + first, (size_t)valid * sizeof(float));
        } else {
            // Runs of the panel's columns within one output row.
            for (long j = 0; j < valid;) {
                const long col = first + j, oy = col / g->out_w, ox = col % g->out_w;
                const long run = g->out_w - ox < valid - j ? g->out_w - ox : valid - j;
                conv_pack_run(image, g, oy, ox, ox + run, (int)j, panel);
                j += run;
            }
        }
        if (valid < PANEL)
            for (long i = 0; i < k; i++)
                for (long j = valid; j < PANEL; j++) panel[i * PANEL + j] = 0.0f;
    }
}

long clip_conv_scratch_floats(long k) { return group_panels(k) * (k > 0 ? k : 1) * PANEL; }

void clip_conv_compute(const float *w, long ldw, long n0, long n1, const float *image, const clip_conv_geometry *g,
                       long p0, long p1, float *scratch, float *out, long ldo, const float *scale, const float *shift,
                       int activation, const float *residual, long ldr) {
    const long k = g->channels * g->kernel_h * g->kernel_w, m = g->out_h * g->out_w;
    const long group = group_panels(k);
    for (long g0 = p0; g0 < p1; g0 += group) {
        const long g1 = g0 + group < p1 ? g0 + group : p1;
        clip_conv_pack(image, g, g0, g1, scratch);
        compute_from(w, ldw, n0, n1, scratch, g0, m, k, g0, g1, out, ldo, 0, scale, shift, activation, residual, ldr);
    }
}

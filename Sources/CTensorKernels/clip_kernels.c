// Vectorised kernels (see include/clip_kernels.h). Each kernel is plain loops with fixed
// summation orders that clang vectorises; it is compiled twice, for the x86-64 baseline and
// for AVX2 (chosen at run time), the softmax rows also for AVX-512. Contraction is off, so
// every build gives identical bits.
#include "clip_kernels.h"

#include "clip_gemm.h"

#pragma clang fp contract(off)

#include "clip_math.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

ALWAYS_INLINE void exp_impl(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = exp_core(x[i]);
}

ALWAYS_INLINE void sigmoid_impl(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = 1.0f / (1.0f + exp_core(-x[i]));
}

ALWAYS_INLINE void quick_gelu_backward_impl(const float *x, const float *g, float *dx, long n) {
    for (long i = 0; i < n; i++) {
        float v = x[i];
        float s = 1.0f / (1.0f + exp_core(-1.702f * v));
        dx[i] = g[i] * (s + 1.702f * v * s * (1.0f - s));
    }
}

ALWAYS_INLINE void gelu_backward_impl(const float *x, const float *g, float *dx, long n) {
    for (long i = 0; i < n; i++) {
        float cdf, e;
        normal_cdf(x[i], &cdf, &e);
        dx[i] = g[i] * (cdf + x[i] * (e * 0.3989422804014327f));
    }
}

ALWAYS_INLINE void relu_backward_impl(const float *x, const float *g, float *dx, long n) {
    for (long i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? g[i] : 0.0f;
}

// Sixteen lanes: one AVX-512 vector or two AVX2 ones, the same arithmetic at every width
// (contraction is off), so every dispatch level gives the same bits.
#define SOFTMAX_LANES 16

// Σ y in 16 running lane sums, the last partial chunk zero-padded, then a fixed tree.
ALWAYS_INLINE float sum16(const float *y, long n) {
    float s[SOFTMAX_LANES] = {0};
    long i = 0;
    for (; i + SOFTMAX_LANES <= n; i += SOFTMAX_LANES)
        for (int j = 0; j < SOFTMAX_LANES; j++) s[j] += y[i + j];
    for (int j = 0; i + j < n; j++) s[j] += y[i + j];
    for (int w = SOFTMAX_LANES / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) s[j] += s[j + w];
    return s[0];
}

// y = e^(x − m); the last partial chunk goes through the vector loop padded, since a scalar
// exp per leftover element cost a third of a 197-wide row. y may be x.
ALWAYS_INLINE void exp_shifted(const float *x, float m, float *y, long n) {
    const long full = n - n % SOFTMAX_LANES, quads = n - n % (4 * SOFTMAX_LANES);
    // Four chunks per iteration: the polynomial is a long dependent chain, so several chunks in
    // flight keep the FP pipes busy (two: 26.7 µs per ViT-B/16 head's 197 rows on Zen 4, four:
    // 23.4 µs, the upper clamp left out included).
#pragma clang loop vectorize(assume_safety) vectorize_width(16) interleave_count(4)
    for (long k = 0; k < quads; k++) y[k] = exp_core_nonpositive(x[k] - m);
#pragma clang loop vectorize(assume_safety) vectorize_width(16) interleave_count(1)
    for (long k = quads; k < full; k++) y[k] = exp_core_nonpositive(x[k] - m);
    if (full == n) return;
    float t[SOFTMAX_LANES];
    for (int j = 0; j < SOFTMAX_LANES; j++) t[j] = full + j < n ? x[full + j] - m : 0.0f;
#pragma clang loop vectorize(assume_safety) vectorize_width(16) interleave_count(1)
    for (int j = 0; j < SOFTMAX_LANES; j++) t[j] = exp_core_nonpositive(t[j]);
    for (long k = full; k < n; k++) y[k] = t[k - full];
}

ALWAYS_INLINE void softmax_row_impl(const float *x, float *y, long n) {
    float lanes[SOFTMAX_LANES];
    for (int j = 0; j < SOFTMAX_LANES; j++) lanes[j] = -__builtin_inff();
    long i = 0;
    for (; i + SOFTMAX_LANES <= n; i += SOFTMAX_LANES)
        for (int j = 0; j < SOFTMAX_LANES; j++) lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
    float m = -__builtin_inff();
    for (int j = 0; j < SOFTMAX_LANES; j++) m = lanes[j] > m ? lanes[j] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    if (m == -__builtin_inff()) {
        for (long k = 0; k < n; k++) y[k] = __builtin_nanf("");
        return;
    }
    exp_shifted(x, m, y, n);
    float inv = 1.0f / sum16(y, n);
    for (long k = 0; k < n; k++) y[k] *= inv;
}

// Causal attention, one head. Scores run over consecutive keys (K transposed into scratch, so
// the inner loop is contiguous and vectorises across keys: each score is its own chain over the
// head width); the weighted sum of values vectorises across the head width (each output its
// own chain over keys). Row i touches keys 0 … i only: nothing depends on t.
ALWAYS_INLINE void causal_attention_head_impl(const float *restrict q, long qs, const float *restrict k, long ks,
                                              const float *restrict v, long vs, long t, long d, float scale,
                                              float *restrict out, long os, float *restrict scratch) {
    float *restrict kt = scratch;         // (D, T)
    float *restrict s = scratch + d * t;  // (T): one query's scores, then its probabilities
    for (long j = 0; j < t; j++)
        for (long c = 0; c < d; c++) kt[c * t + j] = k[j * ks + c];
    for (long i = 0; i < t; i++) {
        const long n = i + 1;
        const float *restrict qi = q + i * qs;
        for (long j = 0; j < n; j++) s[j] = 0.0f;
        for (long c = 0; c < d; c++) {
            const float qc = qi[c];
            const float *restrict row = kt + c * t;
            for (long j = 0; j < n; j++) s[j] += qc * row[j];
        }
        for (long j = 0; j < n; j++) s[j] *= scale;
        softmax_row_impl(s, s, n);
        float *restrict oi = out + i * os;
        for (long c = 0; c < d; c++) oi[c] = 0.0f;
        for (long j = 0; j < n; j++) {
            const float p = s[j];
            const float *restrict vj = v + j * vs;
            for (long c = 0; c < d; c++) oi[c] += p * vj[c];
        }
    }
}

// dx = y · (g − Σ g·y) for one row; dx may be g.
ALWAYS_INLINE void softmax_row_backward_impl(const float *y, const float *g, float *dx, long n) {
    float d8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) d8[j] += g[i + j] * y[i + j];
    float dot = ((d8[0] + d8[1]) + (d8[2] + d8[3])) + ((d8[4] + d8[5]) + (d8[6] + d8[7]));
    for (; i < n; i++) dot += g[i] * y[i];
#pragma clang loop vectorize(assume_safety)
    for (long k = 0; k < n; k++) dx[k] = y[k] * (g[k] - dot);
}

// Double-precision reductions of float arrays in four fixed lanes, lane j summing elements j,
// j + 4, …, the lanes combined pairwise, the tail added last (layer and batch-norm statistics).
ALWAYS_INLINE double sum_f64_impl(const float *x, long n) {
    double s4[4] = {0, 0, 0, 0};
    long i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s4[j] += (double)x[i + j];
    double s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
    for (; i < n; i++) s += (double)x[i];
    return s;
}

ALWAYS_INLINE double squared_deviation_f64_impl(const float *x, long n, double mean) {
    double s4[4] = {0, 0, 0, 0};
    long i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) { double d = (double)x[i + j] - mean; s4[j] += d * d; }
    double s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
    for (; i < n; i++) { double d = (double)x[i] - mean; s += d * d; }
    return s;
}

// Mean and Σ (x − mean)² of one row in double (the reductions above; layer_norm_statistics4
// does the same adds for four rows at once).
ALWAYS_INLINE void layer_norm_statistics(const float *xr, long n, double *mean, double *squares) {
    *mean = sum_f64_impl(xr, n) / (double)n;
    *squares = squared_deviation_f64_impl(xr, n, *mean);
}

// y = (x − mean) · rstd · w + b for row r from its statistics; stores the row's mean and rstd.
ALWAYS_INLINE void layer_norm_apply(const float *x, const float *w, const float *b, float *y, float *mean,
                                    float *rstd, long r, long n, float eps, double m, double sq) {
    const float *xr = x + r * n;
    float *yr = y + r * n;
    const float mf = (float)m, rf = (float)(1.0 / __builtin_sqrt(sq / (double)n + (double)eps));
    mean[r] = mf;
    rstd[r] = rf;
    if (w && b) {
        for (long k = 0; k < n; k++) yr[k] = (xr[k] - mf) * rf * w[k] + b[k];
    } else {
        for (long k = 0; k < n; k++) {
            float v = (xr[k] - mf) * rf;
            if (w) v *= w[k];
            if (b) v += b[k];
            yr[k] = v;
        }
    }
}

ALWAYS_INLINE void layer_norm_rows_impl(const float *x, const float *w, const float *b, float *y,
                                        float *mean, float *rstd, long rows, long n, float eps) {
    for (long r = 0; r < rows; r++) {
        double m, sq;
        layer_norm_statistics(x + r * n, n, &m, &sq);
        layer_norm_apply(x, w, b, y, mean, rstd, r, n, eps, m, sq);
    }
}

ALWAYS_INLINE void layer_norm_backward_rows_impl(const float *x, const float *w, const float *g, const float *mean,
                                                 const float *rstd, float *dx, double *dw, double *db, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * n, *gr = g + r * n;
        float *dr = dx + r * n;
        const float m = mean[r], rs = rstd[r];
        float sd8[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sdx8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        long i = 0;
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) {
                float xh = (xr[i + j] - m) * rs;
                float d = w ? gr[i + j] * w[i + j] : gr[i + j];
                sd8[j] += d;
                sdx8[j] += d * xh;
            }
        float sd = ((sd8[0] + sd8[1]) + (sd8[2] + sd8[3])) + ((sd8[4] + sd8[5]) + (sd8[6] + sd8[7]));
        float sdx = ((sdx8[0] + sdx8[1]) + (sdx8[2] + sdx8[3])) + ((sdx8[4] + sdx8[5]) + (sdx8[6] + sdx8[7]));
        for (; i < n; i++) {
            float xh = (xr[i] - m) * rs;
            float d = w ? gr[i] * w[i] : gr[i];
            sd += d;
            sdx += d * xh;
        }
        const float meanD = sd / (float)n, meanDX = sdx / (float)n;
        for (long k = 0; k < n; k++) {
            float xh = (xr[k] - m) * rs;
            float d = w ? gr[k] * w[k] : gr[k];
            dr[k] = rs * (d - meanD - xh * meanDX);
        }
        if (dw)
            for (long k = 0; k < n; k++) dw[k] += (double)(gr[k] * ((xr[k] - m) * rs));
        if (db)
            for (long k = 0; k < n; k++) db[k] += (double)gr[k];
    }
}

// Double-precision dot product in four fixed lanes, as sum_f64_impl.
ALWAYS_INLINE double dot_f64_impl(const float *a, const float *b, long n) {
    double s4[4] = {0, 0, 0, 0};
    long i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s4[j] += (double)(a[i + j] * b[i + j]);
    double s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
    for (; i < n; i++) s += (double)(a[i] * b[i]);
    return s;
}

// sums[i] += Σ_r x[r·width + i] in double, rows in order.
ALWAYS_INLINE void add_column_sums_f64_impl(const float *restrict x, long rows, long width, double *restrict sums) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * width;
        for (long i = 0; i < width; i++) sums[i] += (double)row[i];
    }
}

#if defined(__x86_64__)
#define CLIP_HAS_AVX2 __builtin_cpu_supports("avx2")
#define CLIP_DISPATCH(name, params, args)                                               \
    __attribute__((target("avx2"))) static void name##_avx2 params { name##_impl args; } \
    void clip_##name params {                                                           \
        if (CLIP_HAS_AVX2) name##_avx2 args;                                            \
        else name##_impl args;                                                          \
    }
#define CLIP_DISPATCH_F64(name, params, args)                                                 \
    __attribute__((target("avx2"))) static double name##_avx2 params { return name##_impl args; } \
    double clip_##name params { return CLIP_HAS_AVX2 ? name##_avx2 args : name##_impl args; }
#else
#define CLIP_DISPATCH(name, params, args) \
    void clip_##name params { name##_impl args; }
#define CLIP_DISPATCH_F64(name, params, args) \
    double clip_##name params { return name##_impl args; }
#endif

CLIP_DISPATCH(exp, (const float *x, float *y, long n), (x, y, n))
CLIP_DISPATCH(sigmoid, (const float *x, float *y, long n), (x, y, n))
CLIP_DISPATCH(quick_gelu, (const float *x, float *y, long n), (x, y, n))
CLIP_DISPATCH(quick_gelu_backward, (const float *x, const float *g, float *dx, long n), (x, g, dx, n))
CLIP_DISPATCH(gelu, (const float *x, float *y, long n), (x, y, n))
CLIP_DISPATCH(gelu_backward, (const float *x, const float *g, float *dx, long n), (x, g, dx, n))
CLIP_DISPATCH(relu, (const float *x, float *y, long n), (x, y, n))
CLIP_DISPATCH(relu_backward, (const float *x, const float *g, float *dx, long n), (x, g, dx, n))
#if defined(__x86_64__)
// The softmax follows the packed GEMM's level (attention rows are its main use): AVX-512 at
// level 2 halves the exponentials' cost (attention at ViT-B/16's 197 tokens 10–16 % faster);
// `clip_gemm_limit_level` lets tests run every path, which give the same bits.
__attribute__((target("avx2"))) static void softmax_row_avx2(const float *x, float *y, long n) {
    softmax_row_impl(x, y, n);
}
__attribute__((target("avx512f"))) static void softmax_row_avx512(const float *x, float *y, long n) {
    softmax_row_impl(x, y, n);
}
void clip_softmax_row(const float *x, float *y, long n) {
    switch (clip_gemm_level()) {
    case 2: softmax_row_avx512(x, y, n); break;
    case 1: softmax_row_avx2(x, y, n); break;
    default:
        // Level 0 forced by a test: the portable loops; no packed GEMM here (CLIP_GEMM=blas, or
        // no FMA): AVX2 where the CPU has it, as before.
        if (clip_gemm_best_level() == 0 && CLIP_HAS_AVX2) softmax_row_avx2(x, y, n);
        else softmax_row_impl(x, y, n);
    }
}
#else
CLIP_DISPATCH(softmax_row, (const float *x, float *y, long n), (x, y, n))
#endif
#if defined(__x86_64__)
// (l0 + l1) + (l2 + l3) of a register's four Double lanes: the one-row loop's lane combination.
__attribute__((target("avx2"))) ALWAYS_INLINE double lanes_pairwise(__m256d v) {
    double l[4];
    _mm256_storeu_pd(l, v);
    return (l[0] + l[1]) + (l[2] + l[3]);
}

// layer_norm_statistics of four rows at once, each row's four lanes in one ymm register: the same
// adds in the same order, so the same bits. A row's adds form one dependent chain; four rows'
// chains overlap (and the compiler's code for the portable loop moved doubles through xmm halves):
// a layer norm of ViT-B/16's 197 × 768 tokens 85 → 41 µs on one Zen 4 core.
__attribute__((target("avx2"))) static void layer_norm_statistics4(const float *x, long n, double *mean,
                                                                    double *squares) {
    const long whole = n - n % 4;
    __m256d s[4], m[4], q[4];
    for (int r = 0; r < 4; r++) s[r] = _mm256_setzero_pd();
    for (long i = 0; i < whole; i += 4)
        for (int r = 0; r < 4; r++) s[r] = _mm256_add_pd(s[r], _mm256_cvtps_pd(_mm_loadu_ps(x + r * n + i)));
    for (int r = 0; r < 4; r++) {
        double sum = lanes_pairwise(s[r]);
        for (long i = whole; i < n; i++) sum += (double)x[r * n + i];
        mean[r] = sum / (double)n;
        m[r] = _mm256_set1_pd(mean[r]);
        q[r] = _mm256_setzero_pd();
    }
    for (long i = 0; i < whole; i += 4)
        for (int r = 0; r < 4; r++) {
            const __m256d c = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + r * n + i)), m[r]);
            q[r] = _mm256_add_pd(q[r], _mm256_mul_pd(c, c));
        }
    for (int r = 0; r < 4; r++) {
        double sq = lanes_pairwise(q[r]);
        for (long i = whole; i < n; i++) {
            const double c = (double)x[r * n + i] - mean[r];
            sq += c * c;
        }
        squares[r] = sq;
    }
}

__attribute__((target("avx2"))) static void layer_norm_rows_avx2(const float *x, const float *w, const float *b,
                                                                  float *y, float *mean, float *rstd, long rows,
                                                                  long n, float eps) {
    long r = 0;
    for (; r + 4 <= rows; r += 4) {
        double m[4], sq[4];
        layer_norm_statistics4(x + r * n, n, m, sq);
        for (int q = 0; q < 4; q++) layer_norm_apply(x, w, b, y, mean, rstd, r + q, n, eps, m[q], sq[q]);
    }
    layer_norm_rows_impl(x + r * n, w, b, y + r * n, mean + r, rstd + r, rows - r, n, eps);  // the last 0–3 rows
}

void clip_layer_norm_rows(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                          long rows, long n, float eps) {
    if (CLIP_HAS_AVX2) layer_norm_rows_avx2(x, w, b, y, mean, rstd, rows, n, eps);
    else layer_norm_rows_impl(x, w, b, y, mean, rstd, rows, n, eps);
}
#else
void clip_layer_norm_rows(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                          long rows, long n, float eps) {
    layer_norm_rows_impl(x, w, b, y, mean, rstd, rows, n, eps);
}
#endif
CLIP_DISPATCH(layer_norm_backward_rows, (const float *x, const float *w, const float *g, const float *mean, const float *rstd,
                                         float *dx, double *dw, double *db, long rows, long n),
              (x, w, g, mean, rstd, dx, dw, db, rows, n))
CLIP_DISPATCH(softmax_row_backward, (const float *y, const float *g, float *dx, long n), (y, g, dx, n))
CLIP_DISPATCH(causal_attention_head,
              (const float *q, long qs, const float *k, long ks, const float *v, long vs, long t, long d, float scale,
               float *out, long os, float *scratch),
              (q, qs, k, ks, v, vs, t, d, scale, out, os, scratch))
CLIP_DISPATCH_F64(sum_f64, (const float *x, long n), (x, n))
CLIP_DISPATCH_F64(squared_deviation_f64, (const float *x, long n, double mean), (x, n, mean))
CLIP_DISPATCH_F64(dot_f64, (const float *a, const float *b, long n), (a, b, n))
CLIP_DISPATCH(add_column_sums_f64, (const float *restrict x, long rows, long width, double *restrict sums), (x, rows, width, sums))

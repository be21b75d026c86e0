// Scalar math shared by the vectorised kernels (clip_kernels.c) and the GEMM epilogues
// (clip_gemm.c): private to CTensorKernels. Each including file compiles these with
// floating-point contraction off, so every caller gets the same bits.
#ifndef CLIP_MATH_H
#define CLIP_MATH_H

#include <stdint.h>
#include <string.h>

#pragma clang fp contract(off)

#define ALWAYS_INLINE static inline __attribute__((always_inline))

// exp_core (below) on x already clamped to [EXP_LO, EXP_HI].
ALWAYS_INLINE float exp_clamped(float xc) {
    float t = xc * 1.44269504088896341f;
    float k = (t + 12582912.0f) - 12582912.0f;                // round to nearest (|t| < 2^22)
    float r = xc - k * 0.693359375f;
    r = r + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#define EXP_HI 88.3762626647949f
#define EXP_LO -87.3365478515625f

// e^x = 2^k · e^r with k = round(x · log2 e), r = x − k · ln 2 (ln 2 split in two so k · C1 is
// exact); e^r from Cephes' expf polynomial. Inputs are clamped so 2^k stays a normal number;
// results below 2^-126 flush to 0 (masked softmax entries, e^-∞, become exactly 0) and
// results above the float range are +∞.
ALWAYS_INLINE float exp_core(float x) {
    float xc = x > EXP_HI ? EXP_HI : x;
    xc = xc < EXP_LO ? EXP_LO : xc;                           // NaN passes both tests unchanged
    float y = exp_clamped(xc);
    y = x > EXP_HI ? __builtin_inff() : y;
    return x < EXP_LO ? 0.0f : y;
}

// exp_core for x ≤ 0 or NaN (a softmax's x − max): the upper clamp and the +∞ case never apply
// there, so they are left out — the same bits, four fewer vector operations per 16 lanes.
ALWAYS_INLINE float exp_core_nonpositive(float x) {
    const float xc = x < EXP_LO ? EXP_LO : x;
    const float y = exp_clamped(xc);
    return x < EXP_LO ? 0.0f : y;
}

// Φ(x) = 0.5 · (1 + erf(x/√2)) and e^(−x²/2), via Abramowitz & Stegun 7.1.26 on |x|/√2
// (absolute error ≤ 1.5e-7), in the erfc form so negative x keep their small values.
ALWAYS_INLINE void normal_cdf(float x, float *cdf, float *gauss) {
    float z = (x < 0 ? -x : x) * 0.70710678118654752f;
    float t = 1.0f / (1.0f + 0.3275911f * z);
    float poly = 1.061405429f;
    poly = poly * t - 1.453152027f;
    poly = poly * t + 1.421413741f;
    poly = poly * t - 0.284496736f;
    poly = poly * t + 0.254829592f;
    poly = poly * t;
    float e = exp_core(-0.5f * x * x);
    float tail = 0.5f * poly * e;                             // 0.5 · erfc(|x|/√2)
    *cdf = x < 0 ? tail : 1.0f - tail;
    *gauss = e;
}

ALWAYS_INLINE void quick_gelu_impl(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] / (1.0f + exp_core(-1.702f * x[i]));
}

ALWAYS_INLINE void gelu_impl(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) {
        float cdf, e;
        normal_cdf(x[i], &cdf, &e);
        y[i] = x[i] * cdf;
    }
}

ALWAYS_INLINE void relu_impl(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

#endif

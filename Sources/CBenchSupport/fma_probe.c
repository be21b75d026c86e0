#include "clip_bench_support.h"

#if defined(__x86_64__)
#include <immintrin.h>

// Ten independent accumulators hide the FMA latency (4-5 cycles) on two FMA ports.
__attribute__((target("avx2,fma")))
static double probe_avx2(int64_t iterations, float *out) {
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
    __m256 a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; i++) {
        a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
        a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
        a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
        a8 = _mm256_fmadd_ps(a8, m, c); a9 = _mm256_fmadd_ps(a9, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(_mm256_add_ps(a6, a7), _mm256_add_ps(a8, a9))));
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    *out = lanes[0];
    return (double)iterations * 10 * 8 * 2;
}

// The same with 512-bit vectors: twice the FLOPs per instruction where the FMA units are
// 512 bits wide (this machine's EPYC); the packed GEMM uses them, OpenBLAS 0.3.21 does not.
__attribute__((target("avx512f")))
static double probe_avx512(int64_t iterations, float *out) {
    __m512 a0 = _mm512_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
    __m512 a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < iterations; i++) {
        a0 = _mm512_fmadd_ps(a0, m, c); a1 = _mm512_fmadd_ps(a1, m, c);
        a2 = _mm512_fmadd_ps(a2, m, c); a3 = _mm512_fmadd_ps(a3, m, c);
        a4 = _mm512_fmadd_ps(a4, m, c); a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c); a7 = _mm512_fmadd_ps(a7, m, c);
        a8 = _mm512_fmadd_ps(a8, m, c); a9 = _mm512_fmadd_ps(a9, m, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(_mm512_add_ps(a6, a7), _mm512_add_ps(a8, a9))));
    float lanes[16];
    _mm512_storeu_ps(lanes, s);
    *out = lanes[0];
    return (double)iterations * 10 * 16 * 2;
}
#endif

static double probe_scalar(int64_t iterations, float *out) {
    float a[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int64_t i = 0; i < iterations; i++)
        for (int j = 0; j < 8; j++) a[j] = a[j] * 0.999999f + 1e-7f;
    *out = a[0];
    return (double)iterations * 8 * 2;
}

static int has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static int has_fma(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

double clip_fma_probe(int64_t iterations, float *out) {
#if defined(__x86_64__)
    if (has_avx512()) return probe_avx512(iterations, out);
    if (has_fma()) return probe_avx2(iterations, out);
#endif
    return probe_scalar(iterations, out);
}

const char *clip_fma_probe_isa(void) { return has_avx512() ? "avx512f" : has_fma() ? "avx2+fma" : "scalar"; }

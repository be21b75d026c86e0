// fp16 → fp32 widening (IEEE 754 binary16 → binary32, exact). Follows the Intel SDM for
// VCVTPH2PS (F16C): exact for every input, denormals included; MXCSR plays no part.
#include "clip_half.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// One value, bit-exact (as CLIPTensor's HalfPrecision.float(fromHalfBits:)).
static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent == 0) {
        float magnitude = (float)mantissa * 0x1p-24f;  // subnormal: exact in binary32
        return sign ? -magnitude : magnitude;
    } else {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static long convert_scalar(const unsigned char *src, float *dst, long n) {
    long bad = 0;
    for (long i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        bad += (h & 0x7C00) == 0x7C00;
        dst[i] = half_to_float(h);
    }
    return bad;
}

#if defined(__x86_64__)
__attribute__((target("avx2,f16c"))) static long convert_f16c(const unsigned char *src, float *dst, long n) {
    const __m256i exponent = _mm256_set1_epi16(0x7C00);
    __m256i bad = _mm256_setzero_si256();  // per 16-bit lane: count of non-finite values (≤ 65535 per block)
    long total = 0;
    long i = 0;
    while (i + 16 <= n) {
        // Blocks of at most 65535 × 16 values so that no 16-bit lane counter overflows.
        long end = i + 16 * 65535L;
        if (end > n) end = n;
        for (; i + 16 <= end; i += 16) {
            __m256i h = _mm256_loadu_si256((const __m256i *)(src + 2 * i));
            // Lanes whose exponent is all ones are -1 after the compare: subtracting counts them.
            bad = _mm256_sub_epi16(bad, _mm256_cmpeq_epi16(_mm256_and_si256(h, exponent), exponent));
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm256_castsi256_si128(h)));
            _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)));
        }
        uint16_t lanes[16];
        _mm256_storeu_si256((__m256i *)lanes, bad);
        for (int j = 0; j < 16; j++) total += lanes[j];
        bad = _mm256_setzero_si256();
    }
    return total + convert_scalar(src + 2 * i, dst + i, n - i);
}
#endif

long clip_half_to_float(const void *src, float *dst, long n) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx2")) return convert_f16c(src, dst, n);
#endif
    return convert_scalar(src, dst, n);
}

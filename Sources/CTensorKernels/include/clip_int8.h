// int8 inference kernels for CLIPTensor: symmetric per-output-channel int8 weights, dynamic
// per-row asymmetric u8 activations, exact int32 accumulation. No public API; CLIPTensor's
// QuantizedLinear splits the work over threads and calls these on disjoint tiles.
//
// Symbols: M rows (tokens), K input width, O output channels, K4 = K rounded up to 4,
//          O16 = O rounded up to 16 (one packed panel holds 16 output channels).
//
// Math: x[m][k] ≈ sx[m] · (xq[m][k] − zx[m]) with xq ∈ [0, 255]; w[o][k] ≈ sw[o] · wq[o][k]
// with wq ∈ [−127, 127]. Then Σ_k x·w ≈ sx[m] · sw[o] · (Σ_k xq·wq − zx[m] · Σ_k wq), and
// Σ_k xq·wq is computed exactly in int32 on every path (|term| ≤ 255 · 127, K < 2^16).
//
// Paths (chosen at run time, all bit-identical in int32): scalar C; AVX2 without VNNI, which
// widens both operands to 16 bits and uses vpmaddwd (exact: 255 · 127 · 2 fits in int32, where
// vpmaddubsw would saturate at 32767); AVX-VNNI or AVX512-VNNI vpdpbusd on 256-bit registers.
#ifndef CLIP_INT8_H
#define CLIP_INT8_H

#include <stdint.h>

/// Kernel paths; `clip_int8_isa_available` tells which run on this CPU.
enum {
    CLIP_INT8_ISA_AUTO = 0,
    CLIP_INT8_ISA_SCALAR = 1,
    CLIP_INT8_ISA_AVX2 = 2,
    CLIP_INT8_ISA_VNNI = 3,
};

/// 1 when `isa` runs on this CPU (scalar always; x86 paths only on x86-64 with the features).
int clip_int8_isa_available(int isa);
/// The path `CLIP_INT8_ISA_AUTO` resolves to: VNNI, else AVX2, else scalar. The environment
/// variable CLIP_INT8_ISA=scalar|avx2|vnni caps it (for measuring the fallbacks).
int clip_int8_isa_best(void);

/// Per-row symmetric quantisation of w (O, K): sw[o] = max|w[o]| / 127 (1 when the row is
/// zero), wq[o][k] = round-to-nearest-even(w / sw) clamped to [−127, 127].
void clip_int8_quantize_weights(const float *w, long O, long K, int8_t *wq, float *sw);

/// Bytes of the packed panel buffer for (O, K) weights: O16 · K4.
long clip_int8_packed_bytes(long O, long K);
/// Packs wq (O, K) into panels: panel p, k-group g holds channels 16p..16p+15 × k 4g..4g+3 as
/// 64 bytes (channel-major, 4 k per channel); padding is 0. wsum (O16) gets Σ_k wq[o][k].
void clip_int8_pack_weights(const int8_t *wq, long O, long K, int8_t *packed, int32_t *wsum);

/// Per-row asymmetric quantisation of x rows [m0, m1) (row stride ldx floats) into xq rows of
/// K4 bytes (padding 0): the range [min(row, 0), max(row, 0)] maps onto [0, 255];
/// sx[m] = range / 255 (1 for a zero row), zx[m] = round(−min / sx).
void clip_int8_quantize_rows(const float *x, long ldx, long m0, long m1, long K, uint8_t *xq, float *sx,
                             int32_t *zx);

/// acc[m][o] = Σ_k xq[m][k] · wq[o][k] (exact int32) for rows [m0, m1) and panels [p0, p1);
/// acc has row stride ldacc (≥ 16 · p1). `isa` 0 picks the best path.
void clip_int8_gemm_s32(const uint8_t *xq, long K, const int8_t *packed, long m0, long m1, long p0, long p1,
                        int32_t *acc, long ldacc, int isa);

/// y[m][o] = sx[m] · sw[o] · (acc − zx[m] · wsum[o]) + bias[o] (bias may be NULL) for rows
/// [m0, m1) and channels of panels [p0, p1) below O; y has row stride ldy.
void clip_int8_linear_f32(const uint8_t *xq, const float *sx, const int32_t *zx, long K, const int8_t *packed,
                          const int32_t *wsum, const float *sw, const float *bias, long O, long m0, long m1,
                          long p0, long p1, float *y, long ldy, int isa);

#endif

// fp16 → fp32 widening for weights stored in half precision (OpenAI's releases): F16C
// (vcvtph2ps, 8 values per instruction) where the CPU has it, an exact scalar path otherwise.
// Both give the same bits for every finite value, ±0, subnormals and ±Inf (widening is exact);
// a NaN stays a NaN (F16C sets the quiet bit of a signalling NaN).
#ifndef CLIP_HALF_H
#define CLIP_HALF_H

/// dst[i] = (float)src[i] for i < n; src may be unaligned. Returns the number of elements
/// that are not finite (exponent all ones: ±Inf or NaN), counted on the way.
long clip_half_to_float(const void *src, float *dst, long n);

#endif

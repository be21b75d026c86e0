// Helpers for the benchmarks only: a floating-point peak probe. No public API.
#ifndef CLIP_BENCH_SUPPORT_H
#define CLIP_BENCH_SUPPORT_H
#include <stdint.h>

/// Runs independent fused multiply-add chains in registers for `iterations` rounds and
/// returns the number of floating-point operations performed (2 per lane per FMA).
/// Uses 256-bit FMA when the CPU has it; `out` receives a value so the work is not elided.
double clip_fma_probe(int64_t iterations, float *out);

/// Name of the instruction set the probe used ("avx512f", "avx2+fma" or "scalar").
const char *clip_fma_probe_isa(void);
#endif

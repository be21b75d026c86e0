// Vectorised C kernels for CLIPTensor: activations and their gradients, exp, softmax rows and
// layer-norm rows. No public API; CLIPTensor splits the work over threads and calls these on
// contiguous ranges. Every function gives the same bits on every x86-64 path (AVX2 or the
// SSE2 baseline): floating-point contraction is off, so no path uses FMA.
#ifndef CLIP_KERNELS_H
#define CLIP_KERNELS_H

/// y = e^x (Cephes-style polynomial, ≤ 2 ulp; e^x < 2^-126 flushes to 0, overflow gives +∞,
/// NaN stays NaN).
void clip_exp(const float *x, float *y, long n);
/// y = 1 / (1 + e^-x).
void clip_sigmoid(const float *x, float *y, long n);
/// y = x · σ(1.702 x) (OpenAI QuickGELU).
void clip_quick_gelu(const float *x, float *y, long n);
/// dx = g · (s + 1.702 x s (1 − s)), s = σ(1.702 x).
void clip_quick_gelu_backward(const float *x, const float *g, float *dx, long n);
/// y = x · Φ(x) = 0.5 x (1 + erf(x / √2)) (erf to ~1e-7 absolute).
void clip_gelu(const float *x, float *y, long n);
/// dx = g · (Φ(x) + x φ(x)).
void clip_gelu_backward(const float *x, const float *g, float *dx, long n);
/// y = max(x, 0) (NaN stays NaN).
void clip_relu(const float *x, float *y, long n);
/// dx = g where x > 0, else 0.
void clip_relu_backward(const float *x, const float *g, float *dx, long n);
/// Softmax of one row of n values, max subtracted first; y may equal x. A row whose
/// maximum is −∞ (every entry masked) becomes NaN, as in PyTorch.
void clip_softmax_row(const float *x, float *y, long n);
/// dx = y · (g − Σ g·y): the softmax gradient for one row from its output y; dx may be g.
void clip_softmax_row_backward(const float *y, const float *g, float *dx, long n);

/// One head of causal self-attention over t tokens of width d (inference):
/// out_i = Σ_{j ≤ i} softmax_j(scale · q_i · k_j) · v_j. Output row i is computed from rows
/// 0 … i alone in a fixed order, so its bits do not depend on t (how many positions run) nor on
/// the other sequences of a batch. q, k, v, out: rows of d floats with row strides qs, ks, vs,
/// os. scratch: d · t + t floats.
void clip_causal_attention_head(const float *q, long qs, const float *k, long ks, const float *v, long vs,
                                long t, long d, float scale, float *out, long os, float *scratch);

// Reductions in Double over four fixed lanes.

/// Σ x.
double clip_sum_f64(const float *x, long n);
/// Σ (x − mean)².
double clip_squared_deviation_f64(const float *x, long n, double mean);
/// Σ a·b (each product rounded to float, as a float multiply, then added in double).
double clip_dot_f64(const float *a, const float *b, long n);
/// sums[i] += Σ_r x[r·width + i] over `rows` rows (in row order), in double.
void clip_add_column_sums_f64(const float *x, long rows, long width, double *sums);

#endif

// Layer norm over rows of n contiguous floats (row statistics in double, fixed summation order).

/// y = (x − mean) · rstd · w + b per row, storing each row's mean and rstd = 1/√(var + eps)
/// (biased variance). w and b may be NULL (1 and 0).
void clip_layer_norm_rows(const float *x, const float *w, const float *b, float *y,
                          float *mean, float *rstd, long rows, long n, float eps);
/// dx = rstd · (d − mean(d) − x̂ · mean(d · x̂)) with x̂ = (x − mean) · rstd and d = g · w, per
/// row, from the forward statistics; adds Σ g · x̂ into dw and Σ g into db (each n doubles,
/// either may be NULL). w may be NULL.
void clip_layer_norm_backward_rows(const float *x, const float *w, const float *g, const float *mean,
                                   const float *rstd, float *dx, double *dw, double *db, long rows, long n);

// Winograd F(2×2, 3×3) convolution for inference (3×3 kernel, stride 1, zero padding 1): each
// 2×2 block of outputs is computed from a 4×4 input tile with 16 multiplications per channel
// pair instead of 36, as 16 products on the packed GEMM (clip_gemm.h).
//
//   Ci/Co input/output channels, H×W map (input and output), T = ⌈H/2⌉·⌈W/2⌉ tiles,
//   P = ⌈T/32⌉ panels, ξ = 0…15 the position in a transformed 4×4 tile
//   U[ξ] (Co, Ci) = (G g Gᵀ)[ξ]          weights, transformed once
//   V[ξ] (Ci, T)  = (Bᵀ d B)[ξ]          the input tiles d, packed as panels (Ci, 32)
//   M[ξ] (Co, T)  = U[ξ] · V[ξ]          16 GEMMs
//   y = Aᵀ M A + bias, then the activation (2×2 outputs per tile)
// The transforms change the rounding, not the result: outputs agree with the direct
// convolution to a few ulps of the output's scale (tested), not bit for bit.
#ifndef CLIP_WINOGRAD_H
#define CLIP_WINOGRAD_H

/// Floats from V[ξ] to V[ξ + 1] (each P panels (Ci, 32), 64-byte aligned if V is) and from
/// M[ξ] to M[ξ + 1] (each (Co, T)).
long clip_winograd_v_stride(long ci, long tiles);
long clip_winograd_m_stride(long co, long tiles);

/// Output channels [o0, o1) of g (Co, Ci, 3, 3) → u (16, Co, Ci).
void clip_winograd_weights(const float *g, long co, long ci, long o0, long o1, float *u);

/// Input channels [c0, c1) of the tiles of panels [p0, p1) of one image (Ci, H, W) → their rows
/// of the 16 · P panels at v: panel p of ξ at v + ξ · v_stride + p · Ci · 32, tiles beyond T zero.
void clip_winograd_input(const float *image, long ci, long h, long w, long c0, long c1, long p0, long p1,
                         float *v);

/// Output channels [c0, c1) of the tiles of panels [p0, p1) from m (16 blocks M[ξ] (Co, T),
/// m_stride apart): out (Co, H, W) = act(Aᵀ M A + shift[c] (+ residual)); `activation` as in
/// clip_gemm.h (CLIP_GEMM_RELU, …), the residual (Co, H, W) is added before it, or NULL.
void clip_winograd_output(const float *m, long co, long h, long w, long c0, long c1, long p0, long p1,
                          const float *shift, const float *residual, int activation, float *out);

#endif

// Winograd F(4×4, 3×3) convolution for inference (3×3 kernel, stride 1, zero padding 1): each
// 4×4 block of outputs is computed from a 6×6 input tile with 36 multiplications per channel
// pair instead of 144 (F(2×2, 3×3): 64 for the same outputs), as 36 products on the packed GEMM.
// The layouts are F(2×2, 3×3)'s (clip_winograd.h) with 36 blocks instead of 16; the strides
// between blocks are clip_winograd_v_stride / clip_winograd_m_stride of this tile count.
//
//   Ci/Co input/output channels, H×W map (input and output), T = ⌈H/4⌉·⌈W/4⌉ tiles,
//   P = ⌈T/32⌉ panels, ξ = 0…35 the position in a transformed 6×6 tile
//   U[ξ] (Co, Ci) = (G g Gᵀ)[ξ]          weights, transformed once (in Double, then rounded)
//   V[ξ] (Ci, T)  = (Bᵀ d B)[ξ]          the input tiles d, packed as panels (Ci, 32)
//   M[ξ] (Co, T)  = U[ξ] · V[ξ]          36 GEMMs
//   y = Aᵀ M A + bias, then the activation (4×4 outputs per tile)
// with the interpolation points 0, ±1, ±2 (Lavin & Gray):
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
// The larger tile rounds more than F(2×2, 3×3) (its transforms scale inputs by up to 8 and
// weights by 1/24): outputs agree with the direct convolution to ~1e-6 of the terms' scale
// (tested), not bit for bit.
#ifndef CLIP_WINOGRAD4_H
#define CLIP_WINOGRAD4_H

/// Output channels [o0, o1) of g (Co, Ci, 3, 3) → u (36, Co, Ci).
void clip_winograd4_weights(const float *g, long co, long ci, long o0, long o1, float *u);

/// Input channels [c0, c1) of the tiles of panels [p0, p1) of one image (Ci, H, W) → their rows
/// of the 36 · P panels at v: panel p of ξ at v + ξ · v_stride + p · Ci · 32, tiles beyond T zero.
void clip_winograd4_input(const float *image, long ci, long h, long w, long c0, long c1, long p0, long p1,
                          float *v);

/// Output channels [c0, c1) of the tiles of panels [p0, p1) from m (36 blocks M[ξ] (Co, T),
/// m_stride apart): out (Co, H, W) = act(Aᵀ M A + shift[c] (+ residual)), as
/// clip_winograd_output.
void clip_winograd4_output(const float *m, long co, long h, long w, long c0, long c1, long p0, long p1,
                           const float *shift, const float *residual, int activation, float *out);

#endif

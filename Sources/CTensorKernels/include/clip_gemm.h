// Inference GEMM on x86-64 with AVX-512 or AVX2 + FMA (chosen at run time): the weight matrix
// is read in place (no packed copy is kept), the other operand is packed per call into panels
// of 32 columns, and bias or folded batch norm, the activation and a residual are applied to
// each tile while it is in registers or L1.
//
//   W (N, K): weights, rows contiguous (an nn.Linear weight (O, I) or a conv weight (Co, Ci·kh·kw))
//   X: the other operand, M columns of depth K, packed by clip_gemm_pack into ceil(M/32) panels
//   out[n][m] (direct) or out[m][n] (transposed) = act(scale[n] · Σ_k W[n][k] X[k][m] + shift[n])
//                                                  + residual   (or act(… + residual), see below)
// Each output is one FMA chain over k = 0, 1, …, K−1 from zero, so the bits do not depend on
// the ISA path, the blocking or the thread count. No public API: CLIPTensor calls these.
#ifndef CLIP_GEMM_H
#define CLIP_GEMM_H

/// Columns per packed panel.
#define CLIP_GEMM_PANEL 32

/// Activations the epilogue applies (the same functions as clip_quick_gelu, clip_gelu, clip_relu).
enum { CLIP_GEMM_NONE = 0, CLIP_GEMM_QUICK_GELU = 1, CLIP_GEMM_GELU = 2, CLIP_GEMM_RELU = 3 };
/// Or-ed into the activation: add the residual before the activation (act(… + residual), a
/// ResNet bottleneck's last ReLU) instead of after it.
enum { CLIP_GEMM_RESIDUAL_FIRST = 16 };
/// Or-ed into the activation: `shift` is indexed by the column m, not by the weight row n (a
/// linear layer whose roles are swapped: W holds the input rows, the panels the packed
/// weights, so the bias runs along the columns). Bits: the same additions either way.
enum { CLIP_GEMM_COLUMN_SHIFT = 32 };

/// 2 with AVX-512F, 1 with AVX2 + FMA, 0 where the packed GEMM is unavailable (other CPUs,
/// non-x86 builds): callers then use BLAS.
int clip_gemm_level(void);

/// The level the CPU supports, ignoring the cap below: whether the packed GEMM runs at all
/// (callers choose it or BLAS by this, so a test capping the kernels' ISA never reroutes a
/// concurrent caller to BLAS; every level gives the same bits).
int clip_gemm_best_level(void);

/// Caps the level clip_gemm_level reports (tests run every path on one machine); −1 removes
/// the cap. Returns the previous cap. Not for concurrent use.
int clip_gemm_limit_level(int level);

/// Packs panels [p0, p1) of X into `panels` (each K × 32 floats, panel p at p · K · 32;
/// columns past M are zero). `rows_are_columns` = 1: X is given as (M, K) rows with row
/// stride ld (a linear layer's input); 0: X is (K, M) with row stride ld (im2col columns).
void clip_gemm_pack(const float *x, long ld, int rows_are_columns, long m, long k, long p0, long p1,
                    float *panels);

/// Outputs for weight rows [n0, n1) and panels [p0, p1). `transposed` = 1 writes out[m·ldo + n]
/// (a linear layer's (M, N) output), 0 writes out[n·ldo + m] (a convolution's (Co, S) plane).
/// scale (may be NULL: 1) and shift (may be NULL: 0) are indexed by n; residual (may be NULL)
/// is laid out like out with leading dimension ldr and must not alias out.
void clip_gemm_compute(const float *w, long ldw, long n0, long n1, const float *panels, long m, long k,
                       long p0, long p1, float *out, long ldo, int transposed, const float *scale,
                       const float *shift, int activation, const float *residual, long ldr);

/// clip_gemm_compute with W given as fp16 (IEEE binary16 bit patterns, rows with stride ldw
/// elements, any 2-byte alignment): each block of rows is widened into scratch first. Widening
/// is exact, so the outputs equal clip_gemm_compute's on the widened weights bit for bit.
/// Returns how many non-finite fp16 values (±Inf, NaN) the widening met: > 0 exactly when a
/// weight row the call read holds one (a row may be counted more than once).
long clip_gemm_compute_half(const unsigned short *w, long ldw, long n0, long n1, const float *panels, long m, long k,
                            long p0, long p1, float *out, long ldo, int transposed, const float *scale,
                            const float *shift, int activation, const float *residual, long ldr);

/// clip_gemm_pack of X (M, K) rows given as fp16 (row stride ld elements): the same panels as
/// packing the widened rows. Returns how many non-finite fp16 values the rows held.
long clip_gemm_pack_half(const unsigned short *x, long ld, long m, long k, long p0, long p1, float *panels);

/// out (M, N) = act(x · Wᵀ + shift) + residual, a linear layer whose weight rows W (N, K)
/// (Float32, or fp16 bit patterns when w_is_half; row stride ldw) are packed per call, one
/// panel of 32 rows at a time, and whose input rows x (M, K) (stride ldx) are the broadcast
/// operand: no column padding of M (50 tokens cost 50 rows, not 64 columns). Outputs for
/// weight panels [p0, p1) (features p0·32 …); shift (N) may be NULL, residual (M, N) with
/// stride ldr may be NULL. The same bits as clip_gemm_compute(_half) on the same operands
/// (transposed = 1). Returns how many non-finite fp16 weights the packing met.
long clip_gemm_linear_packing(const void *w, int w_is_half, long ldw, long n, long k, long p0, long p1,
                              const float *x, long ldx, long m, float *out, long ldo, const float *shift,
                              int activation, const float *residual, long ldr);

/// One image of a convolution: (Ci, H, W) input, kh × kw kernel, stride, zero padding, and the
/// (Ho, Wo) output. Its im2col matrix has K = Ci·kh·kw rows and M = Ho·Wo columns.
typedef struct {
    long channels, height, width;
    long kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
    long out_h, out_w;
} clip_conv_geometry;

/// Packs panels [p0, p1) of one image's im2col matrix straight from the image, panel p at
/// panels + (p − p0) · K · 32: the panels clip_gemm_pack makes from im2col's columns, without
/// writing the columns.
void clip_conv_pack(const float *image, const clip_conv_geometry *g, long p0, long p1, float *panels);

/// Floats of scratch clip_conv_compute needs for depth K (a group of panels that fits L2).
long clip_conv_scratch_floats(long k);

/// One task of a convolution: panels [p0, p1) are packed from the image a group at a time into
/// `scratch` and computed at once for weight rows [n0, n1), as clip_gemm_compute does (output
/// (N, M), not transposed): the same bits, with no im2col matrix or full panel set in memory.
void clip_conv_compute(const float *w, long ldw, long n0, long n1, const float *image, const clip_conv_geometry *g,
                       long p0, long p1, float *scratch, float *out, long ldo, const float *scale, const float *shift,
                       int activation, const float *residual, long ldr);

#endif

// The slice of the CBLAS interface swift-clip uses, declared here so the build does not
// depend on where a distribution puts cblas.h (Debian: /usr/include/<triple>/cblas.h via
// alternatives; macOS: inside Accelerate). Symbols resolve against OpenBLAS or Accelerate.
#ifndef CLIP_CBLAS_H
#define CLIP_CBLAS_H

enum CLIP_CBLAS_ORDER { CLIPCblasRowMajor = 101, CLIPCblasColMajor = 102 };
enum CLIP_CBLAS_TRANSPOSE { CLIPCblasNoTrans = 111, CLIPCblasTrans = 112 };

void cblas_sgemm(const enum CLIP_CBLAS_ORDER order,
                 const enum CLIP_CBLAS_TRANSPOSE transA, const enum CLIP_CBLAS_TRANSPOSE transB,
                 const int m, const int n, const int k,
                 const float alpha, const float *a, const int lda,
                 const float *b, const int ldb,
                 const float beta, float *c, const int ldc);

void cblas_sgemv(const enum CLIP_CBLAS_ORDER order, const enum CLIP_CBLAS_TRANSPOSE trans,
                 const int m, const int n, const float alpha, const float *a, const int lda,
                 const float *x, const int incx, const float beta, float *y, const int incy);

/// Sets the number of threads BLAS may use (OpenBLAS); a no-op on Accelerate.
void clip_blas_set_threads(int n);
/// The number of threads BLAS uses now (1 where unknown).
int clip_blas_get_threads(void);
/// 1 while OpenBLAS's worker threads exist, 0 when they do not (swift-clip joins them before
/// main, see clip_cblas.c), −1 where unknown (another BLAS, Accelerate).
int clip_blas_worker_threads_started(void);

#endif

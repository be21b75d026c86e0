#include "clip_cblas.h"

#if defined(__APPLE__)
void clip_blas_set_threads(int n) { (void)n; }
int clip_blas_get_threads(void) { return 1; }
#else
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
void clip_blas_set_threads(int n) { openblas_set_num_threads(n); }
int clip_blas_get_threads(void) { return openblas_get_num_threads(); }
#endif

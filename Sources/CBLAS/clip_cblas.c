#include "clip_cblas.h"

#if defined(__APPLE__)
void clip_blas_set_threads(int n) { (void)n; }
int clip_blas_get_threads(void) { return 1; }
int clip_blas_worker_threads_started(void) { return -1; }
#else
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
// OpenBLAS's pthread build (Debian's default) exports this; weak, so another BLAS links too.
int blas_thread_shutdown_(void) __attribute__((weak));
extern int blas_server_avail __attribute__((weak));

void clip_blas_set_threads(int n) { openblas_set_num_threads(n); }
int clip_blas_get_threads(void) { return openblas_get_num_threads(); }
int clip_blas_worker_threads_started(void) { return &blas_server_avail ? blas_server_avail != 0 : -1; }

// swift-clip runs BLAS on one thread (Parallel.swift: all threading is ours). OpenBLAS starts
// its worker threads when the library loads, and an idle worker spins on sched_yield for about
// 2^28 cycles before it sleeps: ~45 ms of a core in every process, a fifth of the CPU time of
// `clip embed --text` from a checkpoint. Pin BLAS to one thread and join the workers before
// main; a caller that asks for more threads later (clip-bench's BLAS comparison) gets them
// back, OpenBLAS starts them again on the first threaded call.
__attribute__((constructor)) static void clip_blas_single_thread_at_start(void) {
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}
#endif

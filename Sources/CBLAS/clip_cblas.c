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

void clip_blas_set_threads(int n) {
    openblas_set_num_threads(n);  // 0.3.21 restarts the workers here if they were joined
    if (n == 1 && blas_thread_shutdown_) blas_thread_shutdown_();
}
int clip_blas_get_threads(void) { return openblas_get_num_threads(); }
int clip_blas_worker_threads_started(void) { return &blas_server_avail ? blas_server_avail != 0 : -1; }

// swift-clip runs BLAS on one thread (Parallel.swift: all threading is ours). OpenBLAS starts
// its worker threads when the library loads, and an idle worker spins on sched_yield for about
// 2^28 cycles before it sleeps: ~45 ms of a core in every process, a fifth of the CPU time of
// `clip embed --text` from a checkpoint. Pin BLAS to one thread and join the workers before
// main, and again whenever BLAS is set back to one thread (OpenBLAS 0.3.21's
// openblas_set_num_threads restarts joined workers); a caller that asks for more threads
// (clip-bench's BLAS comparison) gets them.
__attribute__((constructor)) static void clip_blas_single_thread_at_start(void) { clip_blas_set_threads(1); }
#endif

// Fork-join pool (see include/clip_pool.h). One region at a time; `generation` is odd while
// the caller rewrites the region's fields and even once they are published:
//   caller: bump `generation` to odd, wait until no worker is inside the previous region,
//           write (task, context, count), reset the index counter, bump `generation` to even,
//           wake sleepers, take indices itself, then wait until every worker that joined left.
//   worker: spin (then sleep) until `generation` is even and new, join (`active` + 1), check
//           that `generation` is unchanged, take indices until none are left, leave.
// A worker that joins late finds the region's indices used up (or `generation` moved on) and
// leaves; the caller never rewrites the fields while a worker is inside, so no worker mixes
// two regions.
#include "clip_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/// Most workers (threads besides the caller).
#define MAX_WORKERS 63
/// How long an idle worker spins before it sleeps: longer than the gap between two regions of
/// a forward pass, short enough that an idle process stops using the cores at once.
#define SPIN_NANOSECONDS 200000L

static struct {
    pthread_mutex_t region_lock;  // held by the thread running a region
    pthread_mutex_t sleep_lock;   // with `wake` and `sleeping`
    pthread_cond_t wake;
    int sleeping;
    pthread_mutex_t start_lock;  // guards `workers` while starting threads
    int workers;                 // started

    _Atomic long generation;  // bumped for each region
    _Atomic long next;        // next index to hand out
    _Atomic int active;       // workers inside the current region
    long count;               // the current region (written before `generation`)
    int participants;         // workers allowed to join (threads − 1)
    clip_pool_task task;
    void *context;
} pool = {
    .region_lock = PTHREAD_MUTEX_INITIALIZER,
    .sleep_lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .start_lock = PTHREAD_MUTEX_INITIALIZER,
};

static _Thread_local int inside_task;
static _Atomic long regions_run;

long clip_pool_regions(void) { return atomic_load_explicit(&regions_run, memory_order_relaxed); }

int clip_pool_workers(void) {
    pthread_mutex_lock(&pool.start_lock);
    const int workers = pool.workers;
    pthread_mutex_unlock(&pool.start_lock);
    return workers;
}

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void take_indices(void) {
    const long count = pool.count;
    clip_pool_task task = pool.task;
    void *context = pool.context;
    for (;;) {
        const long i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
        if (i >= count) return;
        task(context, i);
    }
}

// A region is waiting when `generation` is even and not the last one this worker saw.
static int is_new_region(long g, long seen) { return g != seen && (g & 1) == 0; }

// A worker's argument: its id in the low 8 bits, above them the generation when it was started.
#define WORKER_ID_BITS 8

static void *worker_main(void *argument) {
    const int id = (int)((long)argument & ((1L << WORKER_ID_BITS) - 1));
    inside_task = 1;  // a region started from a task runs on its own thread, not the pool
    // The generation before the region that started this worker: by the time the thread runs,
    // that region may be published already, and it must count as new (reading `generation`
    // here made a new worker skip its first region, e.g. a first query's whole weight scan).
    long seen = ((long)argument >> WORKER_ID_BITS) & ~1L;
    for (;;) {
        long g = atomic_load_explicit(&pool.generation, memory_order_acquire);
        if (!is_new_region(g, seen)) {
            const long deadline = now_ns() + SPIN_NANOSECONDS;
            int spins = 0;
            while (!is_new_region(g = atomic_load_explicit(&pool.generation, memory_order_acquire), seen)) {
                CPU_RELAX();
                if (++spins % 64 == 0 && now_ns() > deadline) {
                    pthread_mutex_lock(&pool.sleep_lock);
                    pool.sleeping++;
                    while (!is_new_region(g = atomic_load_explicit(&pool.generation, memory_order_acquire), seen))
                        pthread_cond_wait(&pool.wake, &pool.sleep_lock);
                    pool.sleeping--;
                    pthread_mutex_unlock(&pool.sleep_lock);
                    break;
                }
            }
        }
        seen = g;
        atomic_fetch_add_explicit(&pool.active, 1, memory_order_seq_cst);
        // Still the region we saw? (Once `generation` moves on, the caller waits for `active`.)
        if (atomic_load_explicit(&pool.generation, memory_order_seq_cst) == g && id < pool.participants)
            take_indices();
        atomic_fetch_sub_explicit(&pool.active, 1, memory_order_release);
    }
    return 0;
}

static void start_workers(int wanted) {
    pthread_mutex_lock(&pool.start_lock);
    while (pool.workers < wanted) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        // Called before the region's `generation` bumps (the caller holds `region_lock`).
        const long started = atomic_load_explicit(&pool.generation, memory_order_acquire);
        const int failed = pthread_create(
            &thread, &attributes, worker_main, (void *)((started << WORKER_ID_BITS) | (long)pool.workers));
        pthread_attr_destroy(&attributes);
        if (failed) break;
        pool.workers++;
    }
    pthread_mutex_unlock(&pool.start_lock);
}

int clip_pool_run(long count, int threads, clip_pool_task task, void *context) {
    if (inside_task || threads < 2) return 0;
    if (pthread_mutex_trylock(&pool.region_lock) != 0) return 0;
    int helpers = threads - 1 < MAX_WORKERS ? threads - 1 : MAX_WORKERS;
    if (pool.workers < helpers) start_workers(helpers);
    if (pool.workers < helpers) helpers = pool.workers;
    // Odd: fields being rewritten. No worker may still be inside the previous region.
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_seq_cst);
    while (atomic_load_explicit(&pool.active, memory_order_seq_cst) != 0) CPU_RELAX();
    pool.count = count;
    pool.participants = helpers;
    pool.task = task;
    pool.context = context;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_seq_cst);  // even: published
    pthread_mutex_lock(&pool.sleep_lock);
    if (pool.sleeping > 0) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.sleep_lock);
    inside_task = 1;
    take_indices();
    inside_task = 0;
    // Every index is handed out; wait for the workers still running one.
    while (atomic_load_explicit(&pool.active, memory_order_acquire) != 0) CPU_RELAX();
    pthread_mutex_unlock(&pool.region_lock);
    atomic_fetch_add_explicit(&regions_run, 1, memory_order_relaxed);
    return 1;
}

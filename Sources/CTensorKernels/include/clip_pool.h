// A small fork-join pool for the engine's parallel regions. Its workers spin for a short while
// after a region before they sleep, so the next region of a forward pass starts without a
// wake-up: libdispatch's concurrentPerform costs 20–45 µs per region on this 2-core machine,
// and a batch-1 forward pass runs 100–150 regions of 0.1–1 ms.
#ifndef CLIP_POOL_H
#define CLIP_POOL_H

/// One index of a region's work; `context` is the caller's.
typedef void (*clip_pool_task)(void *context, long index);

/// Runs task(context, i) for every i in [0, count) on the calling thread and up to
/// `threads` − 1 pool workers (started on first use), handing out indices dynamically, and
/// returns when all are done. Returns 0 without running anything when the pool is busy (another
/// thread's region, or a call from inside a task): the caller then runs the region another way.
int clip_pool_run(long count, int threads, clip_pool_task task, void *context);

/// Regions the pool has run in this process (tests check that it is used).
long clip_pool_regions(void);

/// Worker threads started so far (tests start new ones on purpose).
int clip_pool_workers(void);

#endif

"""Timing shared by the benchmark scripts in this folder (imported as a sibling module)."""
import statistics
import time


def median_time(fn, budget):
    """Median wall time of `fn` after one warm-up call: at least 3 runs, then more while the
    budget (seconds) lasts, at most 1,000."""
    fn()
    times, start = [], time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < budget and len(times) < 1000):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)

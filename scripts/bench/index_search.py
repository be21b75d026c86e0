#!/usr/bin/env python3
"""`clip search` vs rclip's search method (NumPy brute force over SQLite blobs), same vectors.

    swift build -c release --product clip && swift build -c release --product clip-index
    scripts/reference/venv                       # numpy
    scripts/reference/.venv/bin/python scripts/bench/index_search.py [--rows 100000] [--rounds 7]

Two measurements, alternating the engines round by round, medians reported with the load average:

1. Scan: the top-10 of 1M random 512-d unit vectors for a random query, in memory.
   swift-clip: `clip-index bench-scan` (SIMD dot products + top-k heap on all cores).
   NumPy: `features @ query` (BLAS, all cores) then a full argsort, as rclip ranks.
2. A whole cold search process over an index of --rows synthetic 512-d vectors
   (`clip-index synth-index`, bound to a randomly initialised ViT-B/32 so that the text tower
   has its real size): `clip search "a dog on a beach" --top 10` (load the text tower, encode the
   query, map the vector mirror, scan) vs a Python process doing what rclip's search does after
   its model is loaded: read every (path, vector) row from SQLite, np.frombuffer each, np.stack,
   matmul, sort. rclip's own process also loads torch and the model; that is left out in its
   favour, and the query vector it scores is random (the scan costs the same).
The first `clip search` after indexing also writes the mirror file; it is timed separately.
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, "scripts", "bench", ".cache")
BIN = os.environ.get("CLIP_BIN_DIR", os.path.join(ROOT, ".build", "release"))

RCLIP_METHOD = r"""
import sqlite3, sys, numpy as np
db, k = sys.argv[1], 10
rows = sqlite3.connect(db).execute(
    "SELECT i.path, v.vector FROM images i JOIN vectors v ON v.id = i.vector_id").fetchall()
paths = [r[0] for r in rows]
features = np.stack([np.frombuffer(r[1], np.float32) for r in rows])
query = np.random.default_rng(0).standard_normal(features.shape[1]).astype(np.float32)
query /= np.linalg.norm(query)
similarities = features @ query
ranked = sorted(zip(similarities, paths), key=lambda x: x[0], reverse=True)[:k]
print("\n".join(f"{s:.4f}\t{p}" for s, p in ranked))
"""


def load():
    return open("/proc/loadavg").read().split()[:3]


def timed(cmd, env=None):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def numpy_scan(rows, dim, rounds):
    rng = np.random.default_rng(1)
    features = rng.standard_normal((rows, dim), dtype=np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    times = []
    for _ in range(rounds):
        q = rng.standard_normal(dim).astype(np.float32)
        q /= np.linalg.norm(q)
        start = time.perf_counter()
        scores = features @ q
        top = np.argsort(-scores)[:10]
        times.append((time.perf_counter() - start) * 1000)
        assert len(top) == 10
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--scan-rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    print(f"load average at start: {' '.join(load())} (2 cores, shared machine)")

    # 1. Scan, 1M x 512, alternating engines.
    swift_scan, numpy_times = [], []
    for _ in range(3):
        out = subprocess.run(
            [os.path.join(BIN, "clip-index"), "bench-scan", "--rows", str(args.scan_rows), "--rounds",
             str(args.rounds)], check=True, capture_output=True, text=True).stdout
        swift_scan.append(json.loads(out)["median_ms"])
        numpy_times.append(statistics.median(numpy_scan(args.scan_rows, 512, args.rounds)))
    print(f"scan {args.scan_rows}x512 top-10: swift-clip median {statistics.median(swift_scan):.1f} ms, "
          f"NumPy matmul+argsort median {statistics.median(numpy_times):.1f} ms "
          f"(medians of 3 alternating runs of {args.rounds} rounds); load {' '.join(load())}")

    # 2. Cold search processes over an index of synthetic vectors.
    db = os.path.join(CACHE, f"index-{args.rows}.sqlite")
    model = os.path.join(CACHE, "random-ViT-B-32.safetensors")
    if not os.path.exists(db):
        make_model = [] if os.path.exists(model) else ["--random-model", "ViT-B/32"]
        subprocess.run([os.path.join(BIN, "clip-index"), "synth-index", "--db", db, "--rows", str(args.rows),
                        "--model", model] + make_model, check=True)
    for suffix in ("-vectors",):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    search = [os.path.join(BIN, "clip"), "search", "a dog on a beach", "--db", db, "--top", "10"]
    first = timed(search)
    rclip = [sys.executable, "-c", RCLIP_METHOD, db]
    swift_times, rclip_times = [], []
    for _ in range(args.rounds):
        swift_times.append(timed(search))
        rclip_times.append(timed(rclip))
    print(f"cold search process over {args.rows} indexed images: first (writes the mirror) {first:.2f} s; "
          f"then clip search median {statistics.median(swift_times):.2f} s "
          f"(min {min(swift_times):.2f}), rclip's method median {statistics.median(rclip_times):.2f} s "
          f"(min {min(rclip_times):.2f}), {args.rounds} alternating rounds; load {' '.join(load())}")
    phases = subprocess.run(search + ["--verbose"], check=True, capture_output=True, text=True).stderr
    print("clip search --verbose:", phases.strip().replace("\n", " | "))


if __name__ == "__main__":
    main()

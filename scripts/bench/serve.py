#!/usr/bin/env python3
"""`clip serve` throughput and latency, and its batching efficiency against `clip embed`.

    swift build -c release --product clip --product clip-server
    python3 scripts/bench/serve.py [--model PATH] [--seconds 10] [--concurrency 1,8,64]

Starts .build/release/clip-server on 127.0.0.1 (a free port; loopback only), then for short
texts and for 224-px JPEGs runs C clients (threads, one keep-alive connection each, one input
per request) for --seconds each and prints requests/s, p50 and p99 latency. Batching
efficiency is the server's items/s at the highest concurrency divided by `clip embed`'s items/s
in one process on the same inputs (`clip embed`'s rate is taken from two runs of N and 2N
items, so model loading cancels out). Prints the load average before and after: on a shared
machine the absolute numbers move with the load, the ratio less so.
Needs only the Python standard library (JPEGs are made with Pillow when it is installed,
otherwise the repository's JPEG fixtures are used as they are).
"""
import argparse
import base64
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RELEASE = os.environ.get("CLIP_RELEASE_DIR", os.path.join(ROOT, ".build", "release"))
DEMO = os.path.join(ROOT, "Sources", "clip", "Resources", "demo", "model.safetensors")
TEXTS = [f"{n} {size} {colour} {shape} at the {where}"
         for n in ("one", "two", "three") for size in ("small", "large")
         for colour in ("red", "green", "blue", "yellow") for shape in ("circles", "squares", "triangles")
         for where in ("top", "bottom")]


def load():
    return "load average %.2f %.2f %.2f (%d cores)" % (*os.getloadavg(), os.cpu_count())


def jpegs(folder):
    """224 x 224 JPEGs: Pillow re-encodes the demo PNGs when available, else repository fixtures."""
    os.makedirs(folder, exist_ok=True)
    try:
        from PIL import Image
        sources = sorted(os.path.join(ROOT, "Sources/clip/Resources/demo/images", f)
                         for f in os.listdir(os.path.join(ROOT, "Sources/clip/Resources/demo/images")))
        paths = []
        for i, src in enumerate(sources[:16]):
            path = os.path.join(folder, f"{i:03d}.jpg")
            Image.open(src).convert("RGB").resize((224, 224), Image.BICUBIC).save(path, quality=90)
            paths.append(path)
        return paths
    except ImportError:
        fixtures = os.path.join(ROOT, "Tests/CLIPImageTests/Fixtures/images")
        return sorted(os.path.join(fixtures, f) for f in os.listdir(fixtures) if f.endswith(".jpg"))


def start_server(model, extra):
    server = subprocess.Popen([os.path.join(RELEASE, "clip-server"), "--model", model, "--port", "0",
                               "--log-level", "warning", *extra], stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    port = int(re.search(r":(\d+)\s*$", line).group(1))
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return server, port
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("clip-server did not become healthy")


def run_clients(port, bodies, concurrency, seconds):
    latencies, errors, lock = [], [0], threading.Lock()
    stop = time.monotonic() + seconds

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine, i = [], k
        while time.monotonic() < stop:
            body = bodies[i % len(bodies)]
            i += concurrency
            t0 = time.perf_counter()
            conn.request("POST", "/v1/embeddings", body=body, headers={"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t0)
            if response.status != 200:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    n = len(latencies)
    return {"requests": n, "rps": n / elapsed, "errors": errors[0],
            "p50_ms": 1000 * latencies[n // 2] if n else float("nan"),
            "p99_ms": 1000 * latencies[min(n - 1, int(0.99 * n))] if n else float("nan")}


def clip_embed_rate(model, kind, items, n):
    """Items/s of `clip embed` in one process: (time(2N) - time(N)) cancels loading."""
    def timed(n):
        with tempfile.TemporaryDirectory() as tmp:
            if kind == "text":
                path = os.path.join(tmp, "texts.jsonl")
                with open(path, "w") as f:
                    for i in range(n):
                        f.write(json.dumps(items[i % len(items)]) + "\n")
                args = ["--texts-from", path]
            else:
                path = os.path.join(tmp, "images.txt")
                with open(path, "w") as f:
                    f.write("\n".join(items[i % len(items)] for i in range(n)) + "\n")
                args = ["--images-from", path]
            t0 = time.perf_counter()
            subprocess.run([os.path.join(RELEASE, "clip"), "embed", "--model", model, *args, "-o",
                            os.path.join(tmp, "out.json")], check=True, stderr=subprocess.DEVNULL)
            return time.perf_counter() - t0
    times = [(timed(n), timed(2 * n)) for _ in range(3)]
    extra = statistics.median(b - a for a, b in times)
    return n / extra if extra > 0 else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=DEMO)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--embed-texts", type=int, default=8192,
                        help="texts per `clip embed` run (N; 2N is run too): fewer for a full-size model")
    parser.add_argument("--embed-images", type=int, default=512, help="images per `clip embed` run (N)")
    parser.add_argument("--kinds", default="text,image", help="workloads: text, image or both")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    for binary in ("clip", "clip-server"):
        if not os.access(os.path.join(RELEASE, binary), os.X_OK):
            raise SystemExit(f"build first: swift build -c release --product clip --product clip-server")
    print(f"before: {load()}")
    images = jpegs(os.path.join(tempfile.gettempdir(), "clip-bench-serve"))
    workloads = {
        "text": [json.dumps({"input": [t], "model": "clip"}) for t in TEXTS],
        "image": [json.dumps({"input": [base64.b64encode(open(p, "rb").read()).decode()], "modality": "image"})
                  for p in images],
    }
    kinds = args.kinds.split(",")
    workloads = {k: v for k, v in workloads.items() if k in kinds}
    server, port = start_server(args.model, [])
    results = {}
    try:
        # Rounds alternate workloads and concurrency levels; each cell keeps its median.
        for _ in range(args.rounds):
            for kind, bodies in workloads.items():
                for c in levels:
                    results.setdefault((kind, c), []).append(run_clients(port, bodies, c, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"{'inputs':8} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for (kind, c), runs in sorted(results.items()):
        med = lambda key: statistics.median(r[key] for r in runs)
        print(f"{kind:8} {c:7d} {med('rps'):9.1f} {med('p50_ms'):8.1f} {med('p99_ms'):8.1f} "
              f"{sum(r['errors'] for r in runs):6d}")
    top = max(levels)
    for kind, items, n in (("text", TEXTS, args.embed_texts), ("image", images, args.embed_images)):
        if kind not in kinds:
            continue
        embed = clip_embed_rate(args.model, kind, items, n)
        served = statistics.median(r["rps"] for r in results[(kind, top)])
        print(f"batching efficiency, {kind}: server {served:.1f} items/s at {top} clients / "
              f"clip embed {embed:.1f} items/s = {served / embed:.2f}")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Time to the first embedding from an OpenAI TorchScript .pt, PyTorch vs swift-clip, each in a
fresh process, engines interleaved over several rounds (medians).

    scripts/reference/.venv/bin/python scripts/reference/make_large_weights.py /tmp/clip-large-weights
    swift build -c release --product clip-bench
    scripts/reference/.venv/bin/python scripts/bench/startup.py /tmp/clip-large-weights/ViT-B-32-jit.pt [--rounds 5]

PyTorch: `torch.jit.load(path, map_location="cpu")`, then what openai/clip's `clip.load(jit=True,
device="cpu")` does before a CPU model can run fp16 weights (`model.float()`), then `encode_text`
of `clip.tokenize("a photo of a cat.")` (text) or `encode_image` of one preprocessed image
(image). The clock starts after `import torch` (which alone takes about a second) and stops after
the embedding. swift-clip: `clip-bench startup`, which measures the same span from the start of
its command (tokenizer and image decoding included). Both report wall time and CPU time (all
threads, user + system; for swift-clip the whole process's): on a machine shared with other
work the wall time mostly measures waiting for a core, the CPU time what each engine needs.
Peak RSS is each process's VmHWM (for PyTorch it includes the ~350 MB of the torch import).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BENCH = os.path.join(ROOT, ".build", "release", "clip-bench")
IMAGE = os.path.join(ROOT, "Tests", "CLIPImageTests", "Fixtures", "images", "chelsea_444.jpg")
PROMPT = "a photo of a cat."


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def torch_child(path, modality, threads):
    """One fresh-process PyTorch measurement; prints a JSON line."""
    import torch

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    model = torch.jit.load(path, map_location="cpu").eval()
    model.float()  # clip.load(jit=True, device="cpu") runs fp16 releases in fp32 on the CPU
    loaded = time.perf_counter()
    with torch.no_grad():
        if modality == "text":
            import clip

            features = model.encode_text(clip.tokenize([PROMPT]))
        else:
            from PIL import Image
            import clip

            preprocess = clip.clip._transform(224)
            features = model.encode_image(preprocess(Image.open(IMAGE)).unsqueeze(0))
    done = time.perf_counter()
    print(json.dumps({
        "engine": "pytorch", "modality": modality, "seconds": done - t0, "load_seconds": loaded - t0,
        "cpu_seconds": time.process_time() - cpu0,
        "peak_rss_mb": peak_rss_mib(), "features": features[0, :4].tolist(),
    }))


def run(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("weights")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--modalities", default="text,image")
    parser.add_argument("--child", choices=["torch"])
    parser.add_argument("--modality", default="text")
    args = parser.parse_args()
    if args.child == "torch":
        torch_child(args.weights, args.modality, args.threads)
        return
    # Both engines read the file from the page cache: read it once so the first round is not cold.
    with open(args.weights, "rb") as f:
        while f.read(1 << 24):
            pass
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    for modality in args.modalities.split(","):
        results = {"pytorch": [], "swift-clip": []}
        for _ in range(args.rounds):
            results["pytorch"].append(run([sys.executable, __file__, args.weights, "--child", "torch",
                                           "--modality", modality, "--threads", str(args.threads)]))
            results["swift-clip"].append(run([BENCH, "startup", "--weights", args.weights, "--modality", modality,
                                              "--threads", str(args.threads), "--image", IMAGE,
                                              "--text", PROMPT]))
        medians, cpu = {}, {}
        for engine, rows in results.items():
            seconds = statistics.median(r["seconds"] for r in rows)
            cpu[engine] = statistics.median(r["cpu_seconds"] for r in rows)
            rss = statistics.median(r["peak_rss_mb"] for r in rows)
            medians[engine] = seconds
            runs = " ".join(f"{r['seconds']:.3f}" for r in rows)
            print(f"{modality:5s} {engine:10s} first embedding {seconds * 1000:8.1f} ms wall (runs: {runs}), "
                  f"{cpu[engine] * 1000:8.1f} ms CPU, peak RSS {rss:6.0f} MB")
        print(f"{modality:5s} ratio PyTorch / swift-clip: wall {medians['pytorch'] / medians['swift-clip']:.1f}x, "
              f"CPU {cpu['pytorch'] / cpu['swift-clip']:.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()

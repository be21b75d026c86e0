#!/usr/bin/env python3
"""swift-clip vs PyTorch (open_clip) on the same random weights and inputs, in one run.

    scripts/reference/venv --torch      # once
    swift build -c release --product clip-bench
    scripts/reference/.venv/bin/python scripts/bench/models.py [--models ViT-B-32,RN50] [--threads 2]

For each model: open_clip builds the architecture with random weights (seeded), the state dict
is saved as safetensors under scripts/bench/.cache (git-ignored) with the inputs (pixels and
token ids), PyTorch times encode_image / encode_text with torch.set_num_threads(threads), and
`clip-bench model` times swift-clip on the same files. Prints ms per call, throughput, the
speed ratio (PyTorch time / swift-clip time, > 1 means swift-clip is faster), peak RSS of each
process, and the embeddings' agreement.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import torch
import open_clip
from safetensors.torch import save_file
from bench_timing import median_time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, "scripts", "bench", ".cache")
BENCH = os.path.join(ROOT, ".build", "release", "clip-bench")


def peak_rss_mib():
    """VmHWM of this process (ru_maxrss would be inherited by the child across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(name, batch):
    os.makedirs(CACHE, exist_ok=True)
    torch.manual_seed(0)
    model = open_clip.create_model(f"{name}-quickgelu", pretrained=None).eval()
    size = model.visual.image_size[0] if isinstance(model.visual.image_size, tuple) else model.visual.image_size
    weights = os.path.join(CACHE, f"{name}.safetensors")
    inputs = os.path.join(CACHE, f"{name}-inputs.safetensors")
    if not os.path.exists(weights):
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, weights)
    g = torch.Generator().manual_seed(1)
    pixels = torch.randn((batch, 3, size, size), generator=g)
    tokens = torch.zeros((batch, 77), dtype=torch.int64)
    for i in range(batch):
        n = 5 + (i * 7) % 60
        tokens[i, 0] = 49406
        tokens[i, 1:1 + n] = torch.randint(1, 49405, (n,), generator=g)
        tokens[i, 1 + n] = 49407
    save_file({"pixels": pixels, "tokens": tokens}, inputs)
    return model, weights, inputs, pixels, tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="ViT-B-32,RN50")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget", type=float, default=3.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",")]
    rows = []
    for name in args.models.split(","):
        model, weights, inputs, pixels, tokens = prepare(name, max(batches))
        torch_times = {}
        with torch.no_grad():
            for b in batches:
                torch_times[("image", b)] = median_time(lambda: model.encode_image(pixels[:b]), args.budget)
                torch_times[("text", b)] = median_time(lambda: model.encode_text(tokens[:b]), args.budget)
            ref_image = model.encode_image(pixels).double()
            ref_text = model.encode_text(tokens).double()
        torch_rss = peak_rss_mib()
        out = subprocess.run([BENCH, "model", "--weights", weights, "--inputs", inputs, "--batches", args.batches,
                              "--threads", str(args.threads), "--budget", str(args.budget)],
                             check=True, capture_output=True, text=True)
        swift = json.loads(out.stdout)
        ours_image = torch.tensor(swift["image_features"], dtype=torch.float64).reshape(ref_image.shape)
        ours_text = torch.tensor(swift["text_features"], dtype=torch.float64).reshape(ref_text.shape)
        def agreement(a, b):
            rel = ((a - b).abs().max(dim=1).values / b.norm(dim=1)).max().item()
            cos = torch.nn.functional.cosine_similarity(a, b, dim=1).min().item()
            return rel, cos
        for tower in ["image", "text"]:
            for b in batches:
                t_torch = torch_times[(tower, b)]
                t_swift = swift[f"{tower}_b{b}_seconds"]
                rows.append((name, tower, b, t_torch * 1e3, t_swift * 1e3, b / t_torch, b / t_swift, t_torch / t_swift))
        ia, ta = agreement(ours_image, ref_image), agreement(ours_text, ref_text)
        print(f"{name}: load {swift['load_seconds']:.2f} s; peak RSS swift-clip {swift['peak_rss_mb']:.0f} MiB, "
              f"PyTorch process {torch_rss:.0f} MiB; image max diff/norm {ia[0]:.2e} (cos {ia[1]:.7f}), "
              f"text {ta[0]:.2e} (cos {ta[1]:.7f})", flush=True)
    print()
    print(f"threads: {args.threads}; torch {torch.__version__}, open_clip {open_clip.__version__}")
    print(f"{'model':10} {'tower':6} {'batch':>5} {'PyTorch ms':>11} {'swift ms':>9} {'PyTorch /s':>11} {'swift /s':>9} {'speedup':>8}")
    for r in rows:
        print(f"{r[0]:10} {r[1]:6} {r[2]:5d} {r[3]:11.1f} {r[4]:9.1f} {r[5]:11.1f} {r[6]:9.1f} {r[7]:7.2f}x")


if __name__ == "__main__":
    sys.exit(main())

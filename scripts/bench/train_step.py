#!/usr/bin/env python3
"""One contrastive training step, swift-clip vs PyTorch (open_clip), same config and batch size.

    scripts/reference/venv --torch      # once
    swift build -c release --product clip-bench
    scripts/reference/.venv/bin/python scripts/bench/train_step.py --model-config scripts/demo/model.json --batch-size 128

PyTorch runs open_clip's CLIP built from the same model-config JSON (random weights), ClipLoss,
AdamW with open_clip's parameter groups, torch.set_num_threads(threads); swift-clip runs
`clip-bench train-step` (forward, backward, AdamW). Prints time per step split into phases,
samples/s, peak memory (VmHWM) of each process and the ratio.
"""
import argparse
import json
import os
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F
import open_clip

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-config", required=True)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate PyTorch and swift-clip this many times and report the median of each (shared machines)")
    ap.add_argument("--clip-bench", default=os.path.join(ROOT, ".build", "release", "clip-bench"),
                    help="the clip-bench binary (e.g. one built with --scratch-path)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = json.load(open(args.model_config))
    vision = dict(cfg["vision_cfg"])
    heads = vision.pop("heads", None)
    if heads:
        vision["head_width"] = vision["width"] // heads
    model = open_clip.model.CLIP(cfg["embed_dim"], vision, cfg["text_cfg"], quick_gelu=cfg.get("quick_gelu", False)).train()
    exclude = lambda n, p: p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n
    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in named if exclude(n, p)], "weight_decay": 0.0},
        {"params": [p for n, p in named if not exclude(n, p)], "weight_decay": 0.1},
    ], lr=1e-4, betas=(0.9, 0.98), eps=1e-6)
    size, b = cfg["vision_cfg"]["image_size"], args.batch_size
    pixels = torch.randn(b, 3, size, size)
    t = cfg["text_cfg"].get("context_length", 77)
    tokens = torch.zeros(b, t, dtype=torch.long)
    tokens[:, 0] = 49406
    tokens[:, 1:12] = torch.randint(1, 49405, (b, 11))
    tokens[:, 12] = 49407
    labels = torch.arange(b)
    phases = {"forward": [], "backward": [], "optimizer": []}
    swift_runs = []
    for _ in range(args.rounds):
        for step in range(args.steps + 1):
            t0 = time.perf_counter()
            image, text, scale = model(pixels, tokens)
            logits = scale * image @ text.t()
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            optimizer.step()
            optimizer.zero_grad()
            t3 = time.perf_counter()
            if step > 0:
                phases["forward"].append(t1 - t0)
                phases["backward"].append(t2 - t1)
                phases["optimizer"].append(t3 - t2)
        out = subprocess.run([args.clip_bench, "train-step", "--model-config", args.model_config,
                              "--batch-size", str(b), "--steps", str(args.steps), "--threads", str(args.threads)],
                             check=True, capture_output=True, text=True)
        swift_runs.append(json.loads(out.stdout))
    torch_phases = {k: statistics.median(v) for k, v in phases.items()}
    torch_step = sum(torch_phases.values())
    torch_rss = peak_rss_mib()
    swift = dict(swift_runs[0])
    for key in ("forward_seconds", "backward_seconds", "optimizer_seconds"):
        swift[key] = statistics.median(r[key] for r in swift_runs)
    swift["step_seconds"] = swift["forward_seconds"] + swift["backward_seconds"] + swift["optimizer_seconds"]
    swift["samples_per_second"] = b / swift["step_seconds"]
    swift["peak_rss_mb"] = max(r["peak_rss_mb"] for r in swift_runs)
    params = sum(p.numel() for p in model.parameters())
    print(f"model {args.model_config}: {params / 1e6:.2f} M parameters (swift-clip counts {swift['parameters'] / 1e6:.2f} M), "
          f"batch {b}, threads {args.threads}; torch {torch.__version__}, open_clip {open_clip.__version__}; "
          f"median of {args.rounds} alternating round(s) of {args.steps} steps; load average {os.getloadavg()[0]:.2f}")
    print(f"{'':12} {'forward ms':>11} {'backward ms':>12} {'optimizer ms':>13} {'step ms':>8} {'samples/s':>10} {'peak MiB':>9}")
    print(f"{'PyTorch':12} {torch_phases['forward'] * 1e3:11.1f} {torch_phases['backward'] * 1e3:12.1f} "
          f"{torch_phases['optimizer'] * 1e3:13.1f} {torch_step * 1e3:8.1f} {b / torch_step:10.1f} {torch_rss:9.0f}")
    print(f"{'swift-clip':12} {swift['forward_seconds'] * 1e3:11.1f} {swift['backward_seconds'] * 1e3:12.1f} "
          f"{swift['optimizer_seconds'] * 1e3:13.1f} {swift['step_seconds'] * 1e3:8.1f} {swift['samples_per_second']:10.1f} "
          f"{swift['peak_rss_mb']:9.0f}")
    print(f"speedup (PyTorch step time / swift-clip step time): {torch_step / swift['step_seconds']:.2f}x")


if __name__ == "__main__":
    main()

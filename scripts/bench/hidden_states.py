#!/usr/bin/env python3
"""swift-clip's text hidden states vs transformers' CLIPTextModel on the same weights (issue 12).

    scripts/reference/venv --torch      # once
    swift build -c release --product clip-bench
    scripts/reference/.venv/bin/python scripts/bench/hidden_states.py [--rounds 5] [--threads 2] [--budget 3]

Builds SD 1.x's text encoder (transformers CLIPTextModel with ViT-L/14's text configuration:
width 768, 12 blocks, 12 heads, quick_gelu) with random weights (seeded, every parameter
perturbed), saves it as a diffusers text_encoder/ folder under scripts/bench/.cache
(git-ignored) with 16 prompts' token ids (EOT padding), and times the SD 1.x conditioning
(last_hidden_state: all blocks + final_layer_norm, (N, 77, 768)) at batch 1 and 16:
transformers in this process (torch.set_num_threads(threads), inference_mode, its default
attention), swift-clip in `clip-bench hidden-states` (load time excluded), both on --threads
threads (2 by default). The engines alternate for --rounds rounds, taking turns going first; each round's figure is a median over --budget seconds, the table shows the
median over rounds, the ratio (transformers time / swift-clip time, > 1: swift-clip is faster)
and the load average before each round. The states are checked against transformers' too.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import transformers
from safetensors.torch import save_file
from bench_timing import median_time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, "scripts", "bench", ".cache")
BENCH = os.path.join(ROOT, ".build", "release", "clip-bench")


def median_cpu(fn):
    """Median process CPU time over 5 runs: other jobs on a shared machine cancel out."""
    fn()
    times = []
    for _ in range(5):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget", type=float, default=3.0)
    ap.add_argument("--cpu-time", action="store_true", help="process CPU time instead of wall time (use --threads 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(CACHE, exist_ok=True)
    folder = os.path.join(CACHE, "sd1-text_encoder")
    config = transformers.CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, projection_dim=768, num_hidden_layers=12,
        num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=49406,
        eos_token_id=2, pad_token_id=1)
    torch.manual_seed(0)
    model = transformers.CLIPTextModel(config).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if p.is_floating_point():
                p.add_(torch.randn(p.shape, generator=g) * (0.05 if p.ndim <= 1 else 0.005))
    model.save_pretrained(folder)
    tokens = torch.full((16, 77), 49407, dtype=torch.int64)
    for i in range(16):
        n = 4 + 4 * i
        tokens[i, 0] = 49406
        tokens[i, 1:1 + n] = torch.randint(1, 49405, (n,), generator=g)
    inputs = os.path.join(CACHE, "sd1-text-tokens.safetensors")
    save_file({"tokens": tokens}, inputs)

    def torch_states(b):
        with torch.inference_mode():
            return model(input_ids=tokens[:b]).last_hidden_state

    rows = {1: ([], []), 16: ([], [])}
    loads = []

    def run_torch():
        for b in (1, 16):
            fn = lambda: torch_states(b)
            rows[b][0].append(median_cpu(fn) if args.cpu_time else median_time(fn, args.budget))

    for r in range(args.rounds):
        loads.append(os.getloadavg()[0])
        if r % 2 == 0:  # the engines take turns going first
            run_torch()
        cmd = [BENCH, "hidden-states", "--model", folder, "--inputs", inputs, "--batches", "1,16",
               "--threads", str(args.threads), "--budget", str(args.budget)] + (["--states"] if r == 0 else []) + (
                  ["--cpu-time"] if args.cpu_time else [])
        out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        for b in (1, 16):
            rows[b][1].append(out[f"b{b}_seconds"])
        if r % 2 == 1:
            run_torch()
        if r == 0:
            ours = torch.tensor(out["states"], dtype=torch.float64).reshape(16, 77, 768)
            ref = torch_states(16).double()
            rel = ((ours - ref).abs().amax(dim=-1) / ref.norm(dim=-1)).max().item()
            print(f"agreement: max |diff| / row norm {rel:.1e} (all 16 x 77 rows)", flush=True)
        print(f"round {r + 1}: load {loads[-1]:.1f}; " + "; ".join(
            f"b{b} transformers {rows[b][0][-1] * 1e3:.1f} ms, swift-clip {rows[b][1][-1] * 1e3:.1f} ms" for b in (1, 16)),
            flush=True)
    print(f"\n{'CPU' if args.cpu_time else 'wall'} time; transformers {transformers.__version__}, torch {torch.__version__}, {args.threads} threads, "
          f"{args.rounds} rounds alternated, load average before rounds {min(loads):.1f}-{max(loads):.1f}")
    print("batch | transformers ms | swift-clip ms | ratio")
    for b in (1, 16):
        t, s = statistics.median(rows[b][0]), statistics.median(rows[b][1])
        print(f"{b:5} | {t * 1e3:15.1f} | {s * 1e3:13.1f} | {t / s:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""PyTorch, ONNX Runtime and swift-clip on the same weights and inputs, in one run (issue 13).

    scripts/reference/venv --bench      # once: torch, open_clip, onnxruntime, onnx, onnxscript
    swift build -c release --product clip-bench && swift build -c release --product clip
    scripts/reference/.venv/bin/python scripts/bench/engines.py [--models ViT-B-32,ViT-B-16,ViT-L-14,RN50]
        [--batches 1,16] [--threads 2] [--rounds 3] [--budget 2] [--precision fp32|int8] [--no-startup]

For each model open_clip builds the architecture with random weights (seeded; the same
safetensors file as scripts/bench/models.py, under scripts/bench/.cache, git-ignored), the image
and text towers are exported to ONNX with torch.onnx.export (dynamic batch), and the inputs are
fixed: random pixels and 16 real prompts tokenized like clip.tokenize (SOT, BPE ids, EOT, zeros
to 77; "a photo of a tabby cat." and a spread of lengths: EOT at positions 3 to 25). Then, for
--rounds rounds, each engine runs in its own process in a rotating order — PyTorch
(encode_image / encode_text, torch.set_num_threads), ONNX Runtime fp32 (CPU provider,
intra_op_num_threads, all graph optimisations) and `clip-bench model` — and times every tower
and batch (median over --budget seconds, at least 3 calls). The table shows the median over
rounds, the ratios ORT/swift and PyTorch/swift (> 1: swift-clip is faster), ORT/swift of each
engine's fastest round (both at the host's quietest: outside load slows ONNX Runtime more),
swift-clip's GFLOP/s on the image towers (FLOPs counted by torch.utils.flop_counter, less the rows of a ViT's
last block that swift-clip skips: swift_image_flops) against the FMA peak
`clip-bench engine` measures, and the load average seen before each round.

Startup (unless --no-startup): a fresh process per engine, from spawn to the first text
embedding of "a photo of a tabby cat." from the same weights, and its peak RSS (wait4):
PyTorch imports torch + open_clip, builds the model and loads the safetensors file; ONNX
Runtime imports onnxruntime and opens the text-tower .onnx (token ids given: it has no
tokenizer); swift-clip is the release `clip embed --text`.

--precision int8 is passed to `clip-bench model` (swift-clip's int8 path); PyTorch and ONNX
Runtime stay fp32, so the ratios then compare swift-clip int8 with their fp32.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from bench_timing import median_time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, "scripts", "bench", ".cache")
BENCH = os.path.join(ROOT, ".build", "release", "clip-bench")
CLIP = os.path.join(ROOT, ".build", "release", "clip")
ENGINES = ("torch", "ort", "swift")
NAMES = {"torch": "PyTorch", "ort": "ONNX Runtime", "swift": "swift-clip"}

# Real prompts of spread lengths (2 to 24 BPE tokens); the first is the one the issue quotes.
PROMPTS = [
    "a photo of a tabby cat.",
    "a dog",
    "a photo of a dog.",
    "a bad photo of the airliner.",
    "a close-up photo of a small yellow bird.",
    "itap of a goldfinch.",
    "a black and white photo of the mountain bike.",
    "a photo of many pizzas on a wooden table in a busy italian restaurant.",
    "art of the pickup truck.",
    "a low resolution photo of a red fox standing in the snow.",
    "two people riding bicycles along a river at sunset, with tall buildings in the background.",
    "a sculpture of a tench.",
    "a man in a blue jacket holding an umbrella while waiting for a bus on a rainy city street at night.",
    "an origami crane.",
    "a photo of the number seven written in red ink on white paper.",
    "a kitchen with white cabinets, a stainless steel refrigerator, a gas stove and a bowl of green apples "
    "on the counter.",
]


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def paths(name):
    return {
        "weights": os.path.join(CACHE, f"{name}.safetensors"),  # shared with models.py
        "inputs": os.path.join(CACHE, f"{name}-engines-inputs.safetensors"),
        "image_onnx": os.path.join(CACHE, f"{name}-image.onnx"),
        "text_onnx": os.path.join(CACHE, f"{name}-text.onnx"),
    }


def build_model(name):
    import open_clip
    import torch
    torch.manual_seed(0)
    return open_clip.create_model(f"{name}-quickgelu", pretrained=None).eval()


def load_model(name):
    """The open_clip architecture with the cached weights."""
    from safetensors.torch import load_file
    model = build_model(name)
    model.load_state_dict(load_file(paths(name)["weights"]))
    return model


def tokenize(texts):
    import open_clip
    return open_clip.tokenize(texts)  # clip.tokenize: (N, 77) int64, zero padded


def prepare(name, batch, precision="fp32"):
    """Weights, inputs and ONNX files (cached); returns FLOPs per image and per 77-token text."""
    import torch
    from safetensors.torch import save_file
    from torch.utils.flop_counter import FlopCounterMode
    os.makedirs(CACHE, exist_ok=True)
    p = paths(name)
    model = build_model(name)
    if not os.path.exists(p["weights"]):
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, p["weights"])
    model = load_model(name)
    size = model.visual.image_size
    size = size[0] if isinstance(size, tuple) else size
    g = torch.Generator().manual_seed(1)
    pixels = torch.randn((batch, 3, size, size), generator=g)
    tokens = tokenize([PROMPTS[i % len(PROMPTS)] for i in range(batch)])
    save_file({"pixels": pixels, "tokens": tokens}, p["inputs"])

    class Tower(torch.nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.model, self.fn = model, fn

        def forward(self, x):
            return getattr(self.model, self.fn)(x)

    for key, fn, example, input_name in [("image_onnx", "encode_image", pixels[:2], "pixels"),
                                         ("text_onnx", "encode_text", tokens[:2], "tokens")]:
        if not os.path.exists(p[key]):
            torch.onnx.export(Tower(fn).eval(), (example,), p[key], input_names=[input_name],
                              output_names=["features"], dynamic_axes={input_name: {0: "batch"}, "features": {0: "batch"}},
                              opset_version=18, dynamo=False)
    # nn.MultiheadAttention's fused fast path hides its projections from the counter.
    torch.backends.mha.set_fastpath_enabled(False)
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            model.encode_image(pixels[:1])
        image_flops = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            model.encode_text(tokens[:1])
        text_flops = counter.get_total_flops()
    lengths = [int(row.argmax()) + 1 for row in tokens]
    return image_flops, swift_image_flops(model, image_flops, precision), text_flops, lengths


def swift_image_flops(model, image_flops, precision="fp32"):
    """FLOPs per image swift-clip executes: a ViT's last block runs on the class token only,
    with its keys and values folded into the query (SingleQueryAttention), so that block's other
    rows are not computed; int8 runs its fused int8 projection on every row (keys, values and the
    unused queries) and attends, projects and passes through the MLP the class token alone. A ResNet counts as the
    direct convolutions PyTorch computes."""
    visual = model.visual
    if not hasattr(visual, "transformer") or not hasattr(visual, "class_embedding"):
        return image_flops
    block = visual.transformer.resblocks[-1]
    c, m, h = visual.transformer.width, block.mlp.c_fc.out_features, block.attn.num_heads
    t = visual.positional_embedding.shape[0]
    full = 2 * t * c * 3 * c + 4 * t * t * c + 2 * t * c * c + 4 * t * c * m
    if precision == "int8":
        class_token = 2 * t * c * 3 * c + 4 * t * c + 2 * c * c + 4 * c * m
    else:
        class_token = 2 * c * c + 4 * c * c + 4 * h * t * c + 2 * c * c + 4 * c * m
    return image_flops - full + class_token


# MARK: - Workers (one process per engine and round)

def worker(engine, name, batches, threads, budget):
    """Times one engine; prints JSON with clip-bench model's keys."""
    from safetensors.numpy import load_file
    inputs = load_file(paths(name)["inputs"])
    pixels, tokens = inputs["pixels"], inputs["tokens"]
    result = {}
    t0 = time.perf_counter()
    if engine == "torch":
        import torch
        torch.set_num_threads(threads)
        model = load_model(name)
        pixels_t, tokens_t = torch.from_numpy(pixels), torch.from_numpy(tokens)
        image = lambda b: model.encode_image(pixels_t[:b])
        text = lambda b: model.encode_text(tokens_t[:b])
        context = torch.inference_mode
    else:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = ["CPUExecutionProvider"]
        image_session = ort.InferenceSession(paths(name)["image_onnx"], options, providers=providers)
        text_session = ort.InferenceSession(paths(name)["text_onnx"], options, providers=providers)
        image = lambda b: image_session.run(None, {"pixels": pixels[:b]})[0]
        text = lambda b: text_session.run(None, {"tokens": tokens[:b]})[0]
        import contextlib
        context = contextlib.nullcontext
    result["load_seconds"] = time.perf_counter() - t0
    with context():
        for b in batches:
            result[f"image_b{b}_seconds"] = median_time(lambda: image(b), budget)
            result[f"text_b{b}_seconds"] = median_time(lambda: text(b), budget)
        import numpy as np
        result["image_features"] = np.asarray(image(len(pixels)), dtype=np.float64).ravel().tolist()
        result["text_features"] = np.asarray(text(len(tokens)), dtype=np.float64).ravel().tolist()
    result["peak_rss_mb"] = peak_rss_mib()
    print(json.dumps(result))


def startup_worker(engine, name):
    """From process start to the first text embedding; prints one line when it has it."""
    if engine == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
        model = load_model(name)
        with torch.inference_mode():
            features = model.encode_text(tokenize([PROMPTS[0]]))
        print(f"ready {features.shape[1]}", flush=True)
    else:
        import numpy as np
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("BENCH_THREADS", "2"))
        session = ort.InferenceSession(paths(name)["text_onnx"], options, providers=["CPUExecutionProvider"])
        ids = np.array([json.loads(os.environ["BENCH_TOKENS"])], dtype=np.int64)
        features = session.run(None, {"tokens": ids})[0]
        print(f"ready {features.shape[1]}", flush=True)


# MARK: - Orchestration

def run_engine(engine, name, args):
    if engine == "swift":
        cmd = [BENCH, "model", "--weights", paths(name)["weights"], "--inputs", paths(name)["inputs"],
               "--batches", args.batches, "--threads", str(args.threads), "--budget", str(args.budget),
               "--precision", args.precision]
    else:
        cmd = [sys.executable, __file__, "--worker", engine, "--models", name, "--batches", args.batches,
               "--threads", str(args.threads), "--budget", str(args.budget)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)


def startup(engine, name, args, token_row):
    """(seconds to the first text embedding, peak RSS MiB) of a fresh process.

    A small launcher process (this file with --launch, stdlib only) spawns the engine: Linux
    carries the peak RSS across fork and exec, so a child of this large process would report
    this process's peak as its own."""
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), BENCH_THREADS=str(args.threads),
               BENCH_TOKENS=json.dumps(token_row))
    if engine == "swift":
        cmd = [CLIP, "embed", "--model", paths(name)["weights"], "--text", PROMPTS[0], "--format", "json"]
    else:
        cmd = [sys.executable, __file__, "--startup-worker", engine, "--models", name]
    out = subprocess.run([sys.executable, __file__, "--launch", json.dumps(cmd)], check=True, capture_output=True,
                         text=True, env=env).stdout
    result = json.loads(out)
    return result["seconds"], result["peak_rss_mb"]


def launch(cmd):
    """Runs cmd, prints its wall time to exit and its own peak RSS (wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or not out:
        raise RuntimeError(f"{cmd[0]} failed: {err.decode()[-500:]}")
    import resource  # the launcher's only child: its peak RSS
    print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


def gemm_peak(threads):
    """FMA peak and the engine's 1024³ GEMM rate, GFLOP/s, from `clip-bench engine --quick`."""
    out = subprocess.run([BENCH, "engine", "--threads", str(threads), "--quick"], check=True, capture_output=True,
                         text=True).stdout
    fma = re.search(r"FMA peak: ([\d.]+) GFLOP/s on 1 thread, ([\d.]+) GFLOP/s on", out)
    gemm = re.search(r"^1024³\s+([\d.]+)", out, re.M)
    return float(fma.group(2)), float(gemm.group(1)) if gemm else float("nan")


def agreement(a, b, rows):
    import numpy as np
    a, b = np.asarray(a).reshape(rows, -1), np.asarray(b).reshape(rows, -1)
    return float((np.abs(a - b).max(axis=1) / np.linalg.norm(b, axis=1)).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="ViT-B-32,RN50", help="comma-separated: ViT-B-32, ViT-B-16, ViT-L-14, RN50")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=2.0, help="seconds per measurement (at least 3 calls)")
    ap.add_argument("--precision", choices=["fp32", "int8"], default="fp32", help="swift-clip's precision")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--quiet-peak", type=float, help="FMA peak (GFLOP/s) of the idle machine, for a second percentage "
                    "when the one measured now is depressed by other load")
    ap.add_argument("--worker", choices=["torch", "ort"], help=argparse.SUPPRESS)
    ap.add_argument("--startup-worker", choices=["torch", "ort"], help=argparse.SUPPRESS)
    ap.add_argument("--launch", help=argparse.SUPPRESS)
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    if args.worker:
        return worker(args.worker, args.models, batches, args.threads, args.budget)
    if args.startup_worker:
        return startup_worker(args.startup_worker, args.models)
    if args.launch:
        return launch(json.loads(args.launch))

    import onnxruntime
    import open_clip
    import torch
    engines = args.engines.split(",")
    peak, gemm = gemm_peak(args.threads)
    print(f"FMA peak {peak:.1f} GFLOP/s on {args.threads} threads; engine GEMM 1024³ {gemm:.1f} GFLOP/s", flush=True)
    table, starts, loads, notes = [], [], [], []
    for name in args.models.split(","):
        image_flops, swift_flops, text_flops, lengths = prepare(name, max(batches), args.precision)
        times = {e: [] for e in engines}
        for r in range(args.rounds):
            order = engines[r % len(engines):] + engines[:r % len(engines)]
            for engine in order:
                loads.append(os.getloadavg()[0])
                times[engine].append(run_engine(engine, name, args))
            print(f"{name} round {r + 1}: load {loads[-1]:.1f}; " + "; ".join(
                f"{e} image " + ", ".join(f"b{b} {times[e][-1][f'image_b{b}_seconds'] * 1e3:.1f}" for b in batches)
                + f" ms, text b{batches[-1]} {times[e][-1][f'text_b{batches[-1]}_seconds'] * 1e3:.1f} ms" for e in engines),
                flush=True)
        reference = times[engines[0]][0]
        for e in engines[1:]:
            for tower in ("image", "text"):
                d = agreement(times[e][0][f"{tower}_features"], reference[f"{tower}_features"], max(batches))
                notes.append(f"{name} {tower}: {NAMES[e]} vs {NAMES[engines[0]]} max |diff| / norm {d:.1e}")
        for tower in ("image", "text"):
            for b in batches:
                med = {e: statistics.median(x[f"{tower}_b{b}_seconds"] for x in times[e]) for e in engines}
                row = {"model": name, "tower": tower, "batch": b, **med}
                # Each engine's fastest round: the host at its quietest for both (an outside load
                # slows ONNX Runtime about three times as much as swift-clip; README, session 17).
                row["best"] = {e: min(x[f"{tower}_b{b}_seconds"] for x in times[e]) for e in engines}
                if tower == "image" and "swift" in med:
                    row["gflops"] = swift_flops * b / med["swift"] / 1e9
                if tower == "text":
                    row["positions"] = statistics.mean(lengths[:b])
                table.append(row)
        if not args.no_startup:
            token_row = tokenize([PROMPTS[0]])[0].tolist()
            for engine in engines:
                if engine == "swift" and not os.path.exists(CLIP):
                    notes.append(f"startup: {CLIP} not built, swift-clip skipped")
                    continue
                s, rss = startup(engine, name, args, token_row)
                starts.append((name, engine, s, rss))
        print(f"{name}: image {image_flops / 1e9:.2f} GFLOP per image ({swift_flops / 1e9:.2f} executed by swift-clip), "
              f"text {text_flops / 1e9:.2f} GFLOP per 77-token prompt (PyTorch and ONNX Runtime compute all 77)",
              flush=True)

    print()
    print(f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; {args.threads} threads each; {args.rounds} rounds, "
          f"engines interleaved, medians; load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores; "
          f"swift-clip {args.precision}, PyTorch {torch.__version__} (open_clip {open_clip.__version__}), "
          f"ONNX Runtime {onnxruntime.__version__} fp32; FMA peak {peak:.0f} GFLOP/s")
    print()
    cols = [e for e in ("torch", "ort", "swift") if e in engines]
    header = "| model | tower | batch | " + " | ".join(f"{NAMES[e]} ms" for e in cols)
    if "ort" in cols and "swift" in cols:
        header += " | ORT / swift | fastest rounds"
    if "torch" in cols and "swift" in cols:
        header += " | PyTorch / swift"
    header += " | swift GFLOP/s (% of FMA peak now" + (f" / of idle {args.quiet_peak:.0f}" if args.quiet_peak else "") + ") |"
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for row in table:
        line = f"| {row['model']} | {row['tower']} | {row['batch']} | " + " | ".join(
            f"{row[e] * 1e3:.1f}" for e in cols)
        if "ort" in cols and "swift" in cols:
            line += f" | **{row['ort'] / row['swift']:.2f}×** | {row['best']['ort'] / row['best']['swift']:.2f}×"
        if "torch" in cols and "swift" in cols:
            line += f" | {row['torch'] / row['swift']:.2f}×"
        if "gflops" in row:
            quiet = f" / {100 * row['gflops'] / args.quiet_peak:.0f} %" if args.quiet_peak else ""
            line += f" | {row['gflops']:.0f} ({100 * row['gflops'] / peak:.0f} %{quiet}) |"
        else:
            line += f" | — (mean EOT + 1: {row['positions']:.1f} of 77 positions) |"
        print(line)
    if starts:
        print()
        print("| model | engine | first text embedding | peak RSS |")
        print("| --- | --- | --- | --- |")
        for name, engine, s, rss in starts:
            print(f"| {name} | {NAMES[engine]} | {s:.2f} s | {rss:.0f} MiB |")
    print()
    for n in notes:
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())

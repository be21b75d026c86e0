#!/usr/bin/env python3
"""Image towers on one thread, in CPU time: PyTorch, ONNX Runtime fp32 and swift-clip (issue 13).

    scripts/reference/venv --bench    # torch, open_clip, onnxruntime (requirements-bench.txt)
    swift build -c release --product clip-bench
    scripts/reference/.venv/bin/python scripts/bench/image_towers_cpu.py [--models ViT-B-32,RN50] [--rounds 3]

On a shared machine wall time measures the other jobs as much as the engine; the CPU time of a
single-threaded run does not (the same figure as scripts/bench/hidden_states.py's --cpu-time
row). Each engine runs in its own process, in a rotating order over --rounds rounds: PyTorch
(torch.set_num_threads(1), time.process_time around encode_image), ONNX Runtime (the open_clip
image tower exported with torch.onnx.export, intra_op_num_threads 1, all graph optimisations,
sequential execution) and `clip-bench model --threads 1 --cpu-time`; median of 5 calls after a
warm-up, then the median over rounds. Weights and pixels: the random open_clip weights and
inputs of scripts/bench/models.py (scripts/bench/.cache). Prints ms per call, the ratios
ORT / swift-clip and PyTorch / swift-clip (> 1: swift-clip is faster), swift-clip's GFLOP/s
(FLOPs from torch.utils.flop_counter) and the load average before each round.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, "scripts", "bench", ".cache")
BENCH = os.environ.get("CLIP_BENCH", os.path.join(ROOT, ".build", "release", "clip-bench"))
sys.path.insert(0, os.path.dirname(__file__))


def cpu_median(fn, runs=5):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def worker(engine, name, batches):
    import numpy as np
    import torch
    from safetensors.torch import load_file
    torch.set_num_threads(1)
    pixels = load_file(os.path.join(CACHE, f"{name}-inputs.safetensors"))["pixels"]
    out = {}
    if engine == "torch":
        import models  # scripts/bench/models.py: the same architecture and cached weights
        model, _, _, _, _ = models.prepare(name, pixels.shape[0])
        with torch.no_grad():
            for b in batches:
                out[b] = cpu_median(lambda: model.encode_image(pixels[:b]))
    else:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(onnx_path(name), options, providers=["CPUExecutionProvider"])
        for b in batches:
            x = pixels[:b].numpy().astype(np.float32)
            out[b] = cpu_median(lambda: session.run(None, {"pixels": x}))
    print(json.dumps(out))


def onnx_path(name):
    return os.path.join(CACHE, f"{name}-image.onnx")


def prepare(name):
    """Weights and inputs (models.py), the ONNX image tower, FLOPs per image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    import models
    model, _, _, pixels, _ = models.prepare(name, 16)
    if not os.path.exists(onnx_path(name)):
        class Tower(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, x):
                return self.model.encode_image(x)

        torch.onnx.export(Tower().eval(), (pixels[:2],), onnx_path(name), input_names=["pixels"],
                          output_names=["features"], dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}},
                          opset_version=18, dynamo=False)
    torch.backends.mha.set_fastpath_enabled(False)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.encode_image(pixels[:1])
    return counter.get_total_flops()


def run(engine, name, batches):
    if engine == "swift":
        cmd = [BENCH, "model", "--weights", os.path.join(CACHE, f"{name}.safetensors"),
               "--inputs", os.path.join(CACHE, f"{name}-inputs.safetensors"), "--batches",
               ",".join(map(str, batches)), "--threads", "1", "--cpu-time"]
        d = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        return {b: d[f"image_b{b}_seconds"] for b in batches}
    cmd = [sys.executable, __file__, "--worker", engine, "--models", name, "--batches", ",".join(map(str, batches))]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    d = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
    return {int(b): t for b, t in d.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="ViT-B-32,RN50")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--worker")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    if args.worker:
        return worker(args.worker, args.models, batches)
    engines = ["torch", "ort", "swift"]
    print(f"{'model':9} {'batch':>5} {'PyTorch ms':>10} {'ORT ms':>8} {'swift ms':>9} {'ORT/swift':>9} "
          f"{'PyTorch/swift':>13} {'swift GFLOP/s':>13}  load averages")
    for name in args.models.split(","):
        flops = prepare(name)
        times = {e: {b: [] for b in batches} for e in engines}
        loads = []
        for r in range(args.rounds):
            loads.append(os.getloadavg()[0])
            for e in engines[r % 3:] + engines[:r % 3]:
                for b, t in run(e, name, batches).items():
                    times[e][b].append(t)
        for b in batches:
            med = {e: statistics.median(times[e][b]) for e in engines}
            print(f"{name:9} {b:5d} {med['torch'] * 1e3:10.1f} {med['ort'] * 1e3:8.1f} {med['swift'] * 1e3:9.1f} "
                  f"{med['ort'] / med['swift']:8.2f}x {med['torch'] / med['swift']:12.2f}x "
                  f"{flops * b / med['swift'] / 1e9:13.1f}  {', '.join(f'{x:.1f}' for x in loads)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# fp32 vs int8 (best kernel), and fp32 vs int8 both capped at AVX2 (what a CPU without AVX-512
# and VNNI runs: CLIP_GEMM=avx2, CLIP_INT8_ISA=avx2) on one checkpoint, interleaved rounds of
# `clip-bench model`, medians and speedups (the README's int8 speed table).
#
#   scripts/bench/int8.sh [WEIGHTS] [INPUTS] [ROUNDS]
#
# Defaults: the random ViT-B/32 and its inputs that scripts/bench/models.py caches in
# scripts/bench/.cache. Prints the load average before each run: on a shared machine, say it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
weights="${1:-$root/scripts/bench/.cache/ViT-B-32.safetensors}"
inputs="${2:-$root/scripts/bench/.cache/ViT-B-32-inputs.safetensors}"
rounds="${3:-3}"
cd "$root"
swift build -c release --product clip-bench >&2
bench="$root/.build/release/clip-bench"
out="$(mktemp -d)"
for r in $(seq "$rounds"); do
  for v in fp32 int8 fp32avx2 avx2; do
    precision=$v; cap=""; gemm=""
    if [ "$v" = avx2 ]; then precision=int8; cap=avx2; fi
    if [ "$v" = fp32avx2 ]; then precision=fp32; gemm=avx2; fi
    echo "round $r $v: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    CLIP_INT8_ISA="$cap" CLIP_GEMM="$gemm" "$bench" model --weights "$weights" --inputs "$inputs" --batches 1,16 \
      --budget 3 --precision "$precision" > "$out/$v-$r.json"
  done
done
python3 - "$out" <<'PY'
import glob, json, math, statistics, sys
keys = ["image_b1_seconds", "image_b16_seconds", "text_b1_seconds", "text_b16_seconds", "load_seconds", "peak_rss_mb"]
variants = ("fp32", "int8", "fp32avx2", "avx2")
runs = {v: [json.load(open(f)) for f in sorted(glob.glob(f"{sys.argv[1]}/{v}-*.json"))] for v in variants}
med = {v: {k: statistics.median(r[k] for r in rs) for k in keys} for v, rs in runs.items()}
print(f"{'':22}{'fp32':>10}{'int8':>10}{'speedup':>9}{'fp32 AVX2':>11}{'int8 AVX2':>11}{'speedup':>9}")
for k in keys:
    f, i, fa, a = med["fp32"][k], med["int8"][k], med["fp32avx2"][k], med["avx2"][k]
    speed = k.endswith("seconds") and not k.startswith("load")
    print(f"{k:22}{f:10.4f}{i:10.4f}{(f'{f / i:8.2f}x' if speed else ''):>9}{fa:11.4f}{a:11.4f}"
          f"{(f'{fa / a:8.2f}x' if speed else ''):>9}")
for v, base in (("int8", "fp32"), ("avx2", "fp32avx2")):
    ratios = [round(f["image_b16_seconds"] / x["image_b16_seconds"], 2) for f, x in zip(runs[base], runs[v])]
    print(f"{v} vs {base}: image batch 16 speedup per round: {ratios}")
def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
f, i = runs["fp32"][0], runs["int8"][0]
for kind in ("image_features", "text_features"):
    e = len(f[kind]) // 16 if len(f[kind]) % 16 == 0 else len(f[kind])
    rows = [cos(f[kind][r:r + e], i[kind][r:r + e]) for r in range(0, len(f[kind]), e)]
    print(f"{kind}: min cosine int8 vs fp32 {min(rows):.6f} over {len(rows)} rows")
PY

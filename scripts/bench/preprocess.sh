#!/usr/bin/env bash
# Preprocessing speed: swift-clip (release; both cores, one core, fast JPEG path) against Pillow
# (+ numpy, + torchvision when installed) on the same JPEG photos, in one run. The runs
# alternate for ROUNDS rounds and each keeps its best figures. Two measures:
#   images/s              wall clock: what a user sees, but at the mercy of other processes
#   images per CPU-second work per core: comparable even on a loaded machine; on an idle machine
#                         swift-clip's batch throughput is about cores x this figure
#   scripts/bench/preprocess.sh [SIZE] [REPEATS] [ROUNDS]
# CLIP_BENCH=/path/to/clip-bench uses an existing release binary instead of building one.
# Photos: the scikit-image sample images re-encoded as JPEG (q90), at their own size and 2x.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
size="${1:-224}"
repeats="${2:-3}"
rounds="${3:-3}"
python="$root/scripts/reference/.venv/bin/python"
[ -x "$python" ] || python="$("$root/scripts/reference/venv" | tail -1)"
images="${TMPDIR:-/tmp}/clip-bench-preprocess"
"$python" "$root/scripts/bench/preprocess_reference.py" make "$images"
cd "$root"
bench="${CLIP_BENCH:-}"
if [ -z "$bench" ]; then
  swift build -c release --scratch-path .build-img --product clip-bench >/dev/null
  bench="$root/.build-img/release/clip-bench"
fi

best() { sort -g | tail -1; }
field() { sed -n "s/^$1=//p"; }

run_set() {
  local label="$1"; shift
  echo "== $label: $# files, N=$size, best of $rounds rounds x $repeats passes"
  local ref="" refc="" tv="" tvc="" ours="" oursc="" serial="" serialc="" fast="" out diff=""
  for _ in $(seq "$rounds"); do
    out=$("$python" "$root/scripts/bench/preprocess_reference.py" run "$size" "$repeats" "$@")
    ref+="$(echo "$out" | field numpy_images_per_second)"$'\n'
    refc+="$(echo "$out" | field numpy_images_per_cpu_second)"$'\n'
    tv+="$(echo "$out" | field torchvision_images_per_second)"$'\n'
    tvc+="$(echo "$out" | field torchvision_images_per_cpu_second)"$'\n'
    out=$("$bench" preprocess --size "$size" --repeats "$repeats" "$@")
    ours+="$(echo "$out" | field images_per_second)"$'\n'
    oursc+="$(echo "$out" | field images_per_cpu_second)"$'\n'
    out=$("$bench" preprocess --serial --size "$size" --repeats "$repeats" "$@")
    serial+="$(echo "$out" | field images_per_second)"$'\n'
    serialc+="$(echo "$out" | field images_per_cpu_second)"$'\n'
    out=$("$bench" preprocess --fast-jpeg --size "$size" --repeats "$repeats" "$@")
    fast+="$(echo "$out" | field images_per_second)"$'\n'
    diff="$(echo "$out" | grep "fast JPEG path vs exact")"
  done
  local r rc t tc o oc s sc f
  r=$(echo "$ref" | best); rc=$(echo "$refc" | best); t=$(echo "$tv" | best); tc=$(echo "$tvc" | best)
  o=$(echo "$ours" | best); oc=$(echo "$oursc" | best); s=$(echo "$serial" | best); sc=$(echo "$serialc" | best)
  f=$(echo "$fast" | best)
  printf '%-44s %10s %22s\n' "" "images/s" "images per CPU-second"
  printf '%-44s %10s %22s\n' "Pillow + numpy (torchvision steps), 1 core" "$r" "$rc"
  [ -n "$t" ] && printf '%-44s %10s %22s\n' "Pillow + torchvision, 1 core" "$t" "$tc"
  printf '%-44s %10s %22s\n' "swift-clip, both cores" "$o" "$oc"
  printf '%-44s %10s %22s\n' "swift-clip, 1 core" "$s" "$sc"
  printf '%-44s %10s\n' "swift-clip, both cores, fast JPEG path" "$f"
  echo "$diff"
  if [ -n "$t" ]; then r=$(printf '%s\n%s\n' "$r" "$t" | best); rc=$(printf '%s\n%s\n' "$rc" "$tc" | best); fi
  awk -v r="$r" -v o="$o" -v s="$s" -v f="$f" -v rc="$rc" -v sc="$sc" -v n="$(nproc)" 'BEGIN {
    printf "wall-clock ratio vs the faster Pillow pipeline: %.2fx both cores, %.2fx one core, %.2fx fast JPEG\n", o / r, s / r, f / r
    printf "work per core vs Pillow: %.2fx; expected on %d idle cores: %.2fx\n", sc / rc, n, n * sc / rc }'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (shared with other processes)"
}

run_set "photos at their own size" $(ls "$images"/*.jpg | grep -v _2x)
run_set "photos at 2x" "$images"/*_2x.jpg

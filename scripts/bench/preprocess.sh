#!/usr/bin/env bash
# Preprocessing speed: swift-clip (release; both cores, one core, fast JPEG path) against Pillow
# (+ numpy, + torchvision when installed) in one process, and Pillow + torchvision in one worker
# process per core, on the same JPEG photos, in one run. The runs alternate for ROUNDS rounds
# and each keeps its best figures. Two measures:
#   images/s              wall clock: what a user sees, but at the mercy of other processes
#   images per CPU-second work per core: comparable even on a loaded machine
#   scripts/bench/preprocess.sh [SIZE] [REPEATS] [ROUNDS] [COPIES]
# CLIP_BENCH=/path/to/clip-bench uses an existing release binary instead of building one.
# Photos: the scikit-image sample images re-encoded as JPEG (q90), at their own size and 2x.
# Each batch is the photos repeated COPIES times (default 4: 9 photos -> 36 files), so that a
# batch is long enough for two cores, as a DataLoader batch of 32+ would be.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
size="${1:-224}"
repeats="${2:-3}"
rounds="${3:-3}"
copies="${4:-4}"
workers="$(nproc)"
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
  local photos=$# files=()
  for _ in $(seq "$copies"); do files+=("$@"); done
  set -- "${files[@]}"
  echo "== $label: batch of $# files ($photos photos x $copies), N=$size, best of $rounds rounds x $repeats passes"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
  local ref="" refc="" tv="" tvc="" pool="" ours="" oursc="" serial="" serialc="" fast="" out diff=""
  for _ in $(seq "$rounds"); do
    out=$("$python" "$root/scripts/bench/preprocess_reference.py" run "$size" "$repeats" "$@")
    ref+="$(echo "$out" | field numpy_images_per_second)"$'\n'
    refc+="$(echo "$out" | field numpy_images_per_cpu_second)"$'\n'
    tv+="$(echo "$out" | field torchvision_images_per_second)"$'\n'
    tvc+="$(echo "$out" | field torchvision_images_per_cpu_second)"$'\n'
    out=$("$python" "$root/scripts/bench/preprocess_reference.py" pool "$workers" "$size" "$repeats" "$@")
    pool+="$(echo "$out" | field pool_images_per_second)"$'\n'
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
  f=$(echo "$fast" | best); p=$(echo "$pool" | best)
  printf '%-52s %10s %22s\n' "" "images/s" "images per CPU-second"
  printf '%-52s %10s %22s\n' "Pillow + numpy (torchvision steps), 1 process" "$r" "$rc"
  [ -n "$t" ] && printf '%-52s %10s %22s\n' "Pillow + torchvision, 1 process" "$t" "$tc"
  printf '%-52s %10s\n' "Pillow + torchvision, $workers worker processes" "$p"
  printf '%-52s %10s %22s\n' "swift-clip, both cores" "$o" "$oc"
  printf '%-52s %10s %22s\n' "swift-clip, 1 core" "$s" "$sc"
  printf '%-52s %10s\n' "swift-clip, both cores, fast JPEG path" "$f"
  echo "$diff"
  if [ -n "$t" ]; then r=$(printf '%s\n%s\n' "$r" "$t" | best); rc=$(printf '%s\n%s\n' "$rc" "$tc" | best); fi
  awk -v r="$r" -v o="$o" -v s="$s" -v f="$f" -v p="$p" -v rc="$rc" -v sc="$sc" -v oc="$oc" -v w="$workers" 'BEGIN {
    printf "ratio vs the faster single-process Pillow pipeline: %.2fx both cores, %.2fx one core, %.2fx fast JPEG\n", o / r, s / r, f / r
    printf "ratio vs Pillow + torchvision in %d processes: %.2fx both cores, %.2fx fast JPEG\n", w, o / p, f / p
    printf "work per core vs Pillow: %.2fx (one core), %.2fx (both cores)\n", sc / rc, oc / rc }'
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (shared with other processes)"
}

run_set "photos at their own size" $(ls "$images"/*.jpg | grep -v _2x)
run_set "photos at 2x" "$images"/*_2x.jpg

#!/usr/bin/env bash
# Preprocessing speed: swift-clip (release; both cores, one core, fast JPEG path) against Pillow
# (+ numpy, + torchvision when installed) on the same JPEG photos, in one run. The runs
# alternate for ROUNDS rounds and each keeps its best rate, so load from other processes on
# the shared cores affects all sides alike.
#   scripts/bench/preprocess.sh [SIZE] [REPEATS] [ROUNDS]
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
# CLIP_BENCH=/path/to/clip-bench uses an existing release binary instead of building one.
bench="${CLIP_BENCH:-}"
if [ -z "$bench" ]; then
  swift build -c release --scratch-path .build-img --product clip-bench >/dev/null
  bench="$root/.build-img/release/clip-bench"
fi

best() { sort -g | tail -1; }

run_set() {
  local label="$1"; shift
  echo "== $label: $# files, N=$size, best of $rounds rounds x $repeats passes"
  local ref="" tv="" ours="" serial="" fast="" out
  for _ in $(seq "$rounds"); do
    out=$("$python" "$root/scripts/bench/preprocess_reference.py" run "$size" "$repeats" "$@")
    ref+="$(echo "$out" | sed -n 's/^numpy_images_per_second=//p')"$'\n'
    tv+="$(echo "$out" | sed -n 's/^torchvision_images_per_second=//p')"$'\n'
    ours+="$("$bench" preprocess --size "$size" --repeats "$repeats" "$@" | sed -n 's/^images_per_second=//p')"$'\n'
    serial+="$("$bench" preprocess --serial --size "$size" --repeats "$repeats" "$@" | sed -n 's/^images_per_second=//p')"$'\n'
    out=$("$bench" preprocess --fast-jpeg --size "$size" --repeats "$repeats" "$@")
    fast+="$(echo "$out" | sed -n 's/^images_per_second=//p')"$'\n'
  done
  local r t o s f
  r=$(echo "$ref" | best); t=$(echo "$tv" | best); o=$(echo "$ours" | best); s=$(echo "$serial" | best); f=$(echo "$fast" | best)
  echo "Pillow + numpy (torchvision steps), 1 core: $r images/s"
  [ -n "$t" ] && echo "Pillow + torchvision 0.20.1, 1 core:        $t images/s"
  echo "swift-clip, both cores:                     $o images/s"
  echo "swift-clip, 1 core:                         $s images/s"
  echo "swift-clip, both cores, fast JPEG path:     $f images/s"
  echo "$out" | grep "fast JPEG path vs exact"
  [ -n "$t" ] && r=$(printf '%s\n%s\n' "$r" "$t" | best)
  awk -v r="$r" -v o="$o" -v s="$s" -v f="$f" 'BEGIN { printf "ratio vs the faster Pillow pipeline: %.2fx both cores, %.2fx one core, %.2fx fast JPEG\n", o / r, s / r, f / r }'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (shared with other processes)"
}

run_set "photos at their own size" $(ls "$images"/*.jpg | grep -v _2x)
run_set "photos at 2x" "$images"/*_2x.jpg

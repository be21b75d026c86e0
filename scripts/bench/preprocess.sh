#!/usr/bin/env bash
# Preprocessing speed: swift-clip (release, both cores and one core) against Pillow (+torchvision
# when installed, else the same steps in numpy) on the same JPEG photos, in one run.
#   scripts/bench/preprocess.sh [SIZE] [REPEATS]
# Photos: the scikit-image sample images re-encoded as JPEG (q90), at their own size and 2x.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
size="${1:-224}"
repeats="${2:-5}"
python="$root/scripts/reference/.venv/bin/python"
[ -x "$python" ] || python="$("$root/scripts/reference/venv" | tail -1)"
images="${TMPDIR:-/tmp}/clip-bench-preprocess"
"$python" "$root/scripts/bench/preprocess_reference.py" make "$images"
cd "$root"
swift build -c release --scratch-path .build-img --product clip-bench >/dev/null
bench="$root/.build-img/release/clip-bench"

run_set() {
  local label="$1"; shift
  echo "== $label: $# files, N=$size"
  ref=$("$python" "$root/scripts/bench/preprocess_reference.py" run "$size" "$repeats" "$@")
  ours=$("$bench" preprocess --size "$size" --repeats "$repeats" "$@")
  serial=$("$bench" preprocess --serial --size "$size" --repeats "$repeats" "$@")
  fast=$("$bench" preprocess --fast-jpeg --size "$size" --repeats "$repeats" "$@")
  echo "$ref" | grep -v = ; echo "$ours" | head -1; echo "$serial" | head -1; echo "$fast" | grep -v =
  r=$(echo "$ref" | sed -n 's/^images_per_second=//p')
  t=$(echo "$ref" | sed -n 's/^torchvision_images_per_second=//p')
  o=$(echo "$ours" | sed -n 's/^images_per_second=//p')
  s=$(echo "$serial" | sed -n 's/^images_per_second=//p')
  f=$(echo "$fast" | sed -n 's/^images_per_second=//p')
  awk -v r="$r" -v o="$o" -v s="$s" -v f="$f" 'BEGIN { printf "ratio vs the faster Pillow variant: %.2fx (all cores), %.2fx (1 core), %.2fx (fast JPEG, all cores)\n", o / r, s / r, f / r }'
  [ -n "$t" ] && awk -v t="$t" -v o="$o" 'BEGIN { printf "ratio vs Pillow + torchvision: %.2fx (all cores)\n", o / t }'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other processes share the cores)"
}

run_set "photos at their own size" $(ls "$images"/*.jpg | grep -v _2x)
run_set "photos at 2x" "$images"/*_2x.jpg

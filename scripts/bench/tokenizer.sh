#!/usr/bin/env bash
# Tokenizer speed: swift-clip (release) against OpenAI's Python SimpleTokenizer on the same
# strings (the tokenizer fixture's corpus), in one run. Both do what clip.tokenize does:
# clean (ftfy + html + whitespace + lower), split, BPE, SOT/EOT, truncate to 77.
# Python and Swift alternate for ROUNDS rounds and each side keeps its best warm-cache rate, so
# load from other processes on the shared cores affects both alike.
#   scripts/bench/tokenizer.sh [REPEATS] [ROUNDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
repeats="${1:-3}"
rounds="${2:-3}"
python="$root/scripts/reference/.venv/bin/python"
[ -x "$python" ] || python="$("$root/scripts/reference/venv" | tail -1)"
texts="${TMPDIR:-/tmp}/clip-bench-tokenizer.jsonl"
"$python" "$root/scripts/bench/tokenizer_reference.py" texts "$texts"
cd "$root"
swift build -c release --scratch-path .build-tok --product clip-bench >/dev/null
bench="$root/.build-tok/release/clip-bench"

best() { sort -g | tail -1; }
py_rates="" sw_rates="" sw_par="" py_best="" sw_best=""
for round in $(seq "$rounds"); do
  py_out=$("$python" "$root/scripts/bench/tokenizer_reference.py" run "$texts" "$repeats")
  sw_out=$("$bench" tokenizer --repeats "$repeats" --parallel "$texts")
  py=$(echo "$py_out" | sed -n 's/^strings_per_second=//p')
  sw=$(echo "$sw_out" | sed -n 's/^strings_per_second=//p')
  # Keep the full report of each side's best round.
  if [ -z "$py_best" ] || awk -v a="$py" -v b="$(echo "$py_rates" | best)" 'BEGIN { exit !(a > b) }'; then py_best="$py_out"; fi
  if [ -z "$sw_best" ] || awk -v a="$sw" -v b="$(echo "$sw_rates" | best)" 'BEGIN { exit !(a > b) }'; then sw_best="$sw_out"; fi
  py_rates+="$py"$'\n'
  sw_rates+="$sw"$'\n'
  sw_par+="$(echo "$sw_out" | sed -n 's/^parallel_strings_per_second=//p')"$'\n'
  echo "round $round: python $py strings/s, swift-clip $sw strings/s"
done
echo "== best of $rounds rounds, $repeats warm passes each"
echo "$py_best" | grep -v '='
echo "$sw_best" | grep -v '='
awk -v s="$(echo "$sw_rates" | best)" -v p="$(echo "$py_rates" | best)" \
  'BEGIN { printf "ratio (warm cache, 1 core each, CPU time): swift-clip / python = %.1fx (target >= 20x)\n", s / p }'
awk -v s="$(echo "$sw_par" | best)" -v p="$(echo "$py_rates" | best)" \
  'BEGIN { printf "ratio (swift-clip one batch on all cores, wall time / python 1 core): %.1fx\n", s / p }'

#!/usr/bin/env bash
# Trains the bundled demo model from scratch on 2 cores and bundles it with a few sample
# images into Sources/clip/Resources/demo (what `clip demo` uses). No Python, no network.
#
#   scripts/demo/train-demo-model.sh [WORK_DIR]
#
# Steps: generate the synthetic shapes dataset (19,000 train / 1,000 val images, 64 px, with
# colour-shape pairs held out for zero-shot), train scripts/demo/model.json (a ViT with open_clip's
# fixed sin-cos positional embedding) for 2,200 steps of 128 pairs, evaluate retrieval on the
# held-out val split and zero-shot accuracy on all classes and on the unseen colour-shape pairs,
# then store the model as fp16 safetensors. Training takes about 13 minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-/tmp/swift-clip-demo}"
mkdir -p "$work"
cd "$root"
swift build -c release --product clip
clip="$root/.build/release/clip"

"$clip" synth -o "$work/shapes" --count 20000 --val-fraction 0.05 --seed 0
rm -rf "$work/run"  # a fresh run every time: clip train refuses to mix two runs in one directory
start=$(date +%s)
"$clip" train --train-data "$work/shapes/train.csv" --model-config scripts/demo/model.json \
  --batch-size 128 --steps 2200 --lr 2e-3 --warmup 50 --wd 0.1 --seed 0 \
  --output "$work/run" --checkpoint-every 400
echo "training took $(( $(date +%s) - start )) s"

model="$work/run/latest.safetensors"
"$clip" eval --model "$model" --retrieval "$work/shapes/val.csv" | tee "$work/retrieval.json"
"$clip" eval --model "$model" --zeroshot-folder "$work/shapes/zeroshot_all" --templates scripts/demo/templates.txt | tee "$work/zeroshot_all.json"
"$clip" eval --model "$model" --zeroshot-folder "$work/shapes/zeroshot_unseen" --templates scripts/demo/templates.txt | tee "$work/zeroshot_unseen.json"

demo="$root/Sources/clip/Resources/demo"
mkdir -p "$demo/images"
"$clip" convert --model "$model" --dtype f16 -o "$demo/model.safetensors"
# A handful of held-out val images and their captions, plus captions of other val images.
rm -f "$demo/images/"*.png
tail -n +2 "$work/shapes/val.csv" | head -n 6 | while IFS=$'\t' read -r path caption; do
  cp "$work/shapes/$path" "$demo/images/$(basename "$path")"
  echo "$caption"
done > "$demo/captions.txt"
tail -n +2 "$work/shapes/val.csv" | sed -n '7,10p' | cut -f2 >> "$demo/captions.txt"
echo "bundled into $demo"

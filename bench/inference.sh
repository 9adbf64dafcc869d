#!/usr/bin/env bash
# Inference throughput: images/s over the 10,000 test images for a trained 784-128-10 and
# 784-1024-1024-10 (fastest of 10 passes; the model is trained for 1 epoch first).
# usage: bench/inference.sh [DEVICE]    (from the repository root)
set -euo pipefail
device=${1:-auto}
bin=build/mnistcl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for layers in 784,128,10 784,1024,1024,10; do
    "$bin" train --layers "$layers" --epochs 1 --device "$device" --save "$tmp/m.safetensors" >/dev/null
    out=$("$bin" eval --model "$tmp/m.safetensors" --device "$device" --repeat 10)
    echo "$layers: $(grep '^fastest pass' <<<"$out")"
done

#!/usr/bin/env bash
# Seconds per epoch and images/s of mnistcl for 784-128-10, 784-800-10 and
# 784-1024-1024-10 at batch 128, SGD lr 0.05 momentum 0.9: the median of epochs 2..EPOCHS
# (epoch 1 includes pocl's lazy kernel compilation).
# usage: bench/epoch.sh [EPOCHS] [DEVICE]    (from the repository root)
set -euo pipefail
epochs=${1:-3}
device=${2:-auto}
bin=${MNISTCL_BIN:-build/mnistcl} # MNISTCL_BIN: another build, e.g. the previous commit's
[ -x "$bin" ] || { echo "build first: bash .ci/setup" >&2; exit 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf "%-20s %10s %12s %8s\n" network s/epoch images/s test%
for layers in 784,128,10 784,800,10 784,1024,1024,10; do
    out=$("$bin" train --layers "$layers" --epochs "$epochs" --batch 128 --lr 0.05 --momentum 0.9 \
        --device "$device")
    t=$(median $(awk '$1 ~ /^[0-9]+$/ && $1 > 1 && NF == 6 {print $5}' <<<"$out"))
    acc=$(sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p' <<<"$out")
    printf "%-20s %10s %12.0f %8s\n" "$layers" "$t" "$(awk -v t="$t" 'BEGIN {print 60000 / t}')" "$acc"
done
echo "device: $(sed -n 's/^device: //p' <<<"$out")"

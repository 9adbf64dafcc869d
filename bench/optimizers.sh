#!/usr/bin/env bash
# What each update rule costs per epoch: 784-128-10 (or LAYERS) at batch 128, SGD with
# momentum, Nesterov, Adam and AdamW run in turn, ROUNDS rounds interleaved so the
# machine's drift hits them alike; per rule the median of epochs 2..EPOCHS over all rounds,
# and its ratio to SGD's.
# usage: bench/optimizers.sh [ROUNDS] [EPOCHS] [LAYERS] [DEVICE]   (from the repository root)
set -euo pipefail
rounds=${1:-3}
epochs=${2:-4}
layers=${3:-784,128,10}
device=${4:-auto}
bin=${MNISTCL_BIN:-build/mnistcl} # MNISTCL_BIN: another build
[ -x "$bin" ] || { echo "build first: bash .ci/setup" >&2; exit 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
rules=(sgd nesterov adam adamw)
declare -A times
for r in $(seq 1 "$rounds"); do
    for rule in "${rules[@]}"; do
        lr=0.05
        case $rule in adam*) lr=0.001 ;; esac
        out=$("$bin" train --layers "$layers" --epochs "$epochs" --batch 128 --lr $lr \
            --optimizer "$rule" --device "$device")
        times[$rule]+=" $(awk '$1 ~ /^[0-9]+$/ && $1 > 1 && NF == 6 {print $5}' <<<"$out" | tr '\n' ' ')"
    done
done
base=$(median ${times[sgd]})
printf "%-10s %10s %8s   (%s, batch 128, %d rounds x epochs 2..%d)\n" rule s/epoch "x sgd" \
    "$layers" "$rounds" "$epochs"
for rule in "${rules[@]}"; do
    t=$(median ${times[$rule]})
    printf "%-10s %10s %8.3f\n" "$rule" "$t" "$(awk -v t="$t" -v b="$base" 'BEGIN {print t / b}')"
done
echo "device: $(sed -n 's/^device: //p' <<<"$out")"

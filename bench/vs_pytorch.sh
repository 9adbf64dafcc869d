#!/usr/bin/env bash
# mnistcl against PyTorch (Debian's python3-torch, CPU) on the same machine, alternating
# in one run: same network, batch 128, SGD lr 0.05 momentum 0.9, same epochs. PyTorch
# runs at its best: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (this machine's
# environment pins OpenBLAS to Haswell kernels), OPENBLAS_NUM_THREADS=1 (so BLAS threads
# do not fight PyTorch's own), with 1 and with 2 threads; the faster counts.
# Each side's time is the median seconds per epoch over ROUNDS runs, leaving out epoch 1
# (kernel compilation, allocator warm-up). Prints both, the ratio mnistcl/PyTorch and
# both test accuracies, and each round's own ratio (this machine's speed drifts within
# minutes, so a round's three runs are the closest comparison there is).
# usage: bench/vs_pytorch.sh [LAYERS] [EPOCHS] [ROUNDS] [DEVICE]   (from the repository root)
#        e.g. bench/vs_pytorch.sh 784,1024,1024,10 2 2
set -euo pipefail
layers=${1:-784,128,10}
epochs=${2:-3}
rounds=${3:-3}
device=${4:-auto}
bin=${MNISTCL_BIN:-build/mnistcl} # MNISTCL_BIN: another build, e.g. the previous commit's
source "$(dirname "${BASH_SOURCE[0]}")/torch_env.sh" # $py, the checks
[ "$epochs" -ge 2 ] || { echo "EPOCHS must be at least 2 (epoch 1 is warm-up)" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ours=() torch1=() torch2=() ratios=()
for r in $(seq 1 "$rounds"); do
    out=$("$bin" train --layers "$layers" --epochs "$epochs" --batch 128 --lr 0.05 \
        --momentum 0.9 --device "$device")
    ours+=($(awk '$1 ~ /^[0-9]+$/ && $1 > 1 && NF == 6 {print $5}' <<<"$out"))
    our_acc=$(sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p' <<<"$out")
    our_dev=$(sed -n 's/^device: //p' <<<"$out")
    for t in 1 2; do
        out=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
            "$py" bench/pytorch_mlp.py "$layers" "$epochs" 128 0.05 0.9 "$t")
        times=($(awk '$1 == "epoch" && $2 > 1 {print $4}' <<<"$out"))
        if [ "$t" = 1 ]; then torch1+=("${times[@]}"); acc1=$(awk '/^test accuracy/ {print $3}' <<<"$out")
        else torch2+=("${times[@]}"); acc2=$(awk '/^test accuracy/ {print $3}' <<<"$out"); fi
    done
    o=$(median "${ours[@]: -$((epochs - 1))}")
    p1=$(median "${torch1[@]: -$((epochs - 1))}")
    p2=$(median "${torch2[@]: -$((epochs - 1))}")
    ratio=$(awk -v m="$o" -v a="$p1" -v b="$p2" 'BEGIN { printf "%.2f", m / (a < b ? a : b) }')
    ratios+=("$ratio")
    echo "round $r: mnistcl ${ours[*]: -$((epochs - 1))} | torch 1 thread ${torch1[*]: -$((epochs - 1))} | torch 2 threads ${torch2[*]: -$((epochs - 1))} | ratio $ratio"
done
m=$(median "${ours[@]}")
t1=$(median "${torch1[@]}")
t2=$(median "${torch2[@]}")
best=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print (a < b ? a : b) }')
best_threads=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print (a < b ? 1 : 2) }')
best_acc=$([ "$best_threads" = 1 ] && echo "$acc1" || echo "$acc2")
echo
echo "$layers, batch 128, SGD lr 0.05 momentum 0.9, $epochs epochs; median s/epoch (epoch 1 left out), $rounds rounds"
echo "  mnistcl ($our_dev): $m s/epoch, test accuracy $our_acc%"
echo "  PyTorch 1 thread: $t1 s/epoch; 2 threads: $t2 s/epoch; best: $best_threads thread(s), test accuracy $best_acc%"
awk -v m="$m" -v b="$best" 'BEGIN { printf "  ratio mnistcl/PyTorch: %.2f (goal: at most 0.6)\n", m / b }'
echo "  per-round ratios (each round's three runs are minutes apart): ${ratios[*]}; median $(median "${ratios[@]}")"

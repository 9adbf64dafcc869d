#!/usr/bin/env bash
# Time to a test accuracy: mnistcl against PyTorch (Debian's python3-torch, CPU) on the same
# machine in one run, the contenders alternating in every round:
#   mnistcl          $MNISTCL_BIN $MNISTCL_ARGS (default: build/mnistcl train --preset speedrun)
#   torch SGD        784-800-10, torch.optim.SGD lr 0.05 momentum 0.9, batch 64 (the fastest to
#                    98% of the settings tried: lr 0.05/0.1/0.2, batch 32/64/128; TORCH_SGD)
#   torch Adam       784-800-10, torch.optim.Adam lr 1e-3 (default betas), batch 128 (TORCH_ADAM)
# each PyTorch one at 1 and at 2 torch threads (bench/pytorch_time_to_acc.py: He-normal
# weights, shuffled every epoch, the test set evaluated after every epoch), PyTorch at its
# best environment exactly as bench/vs_pytorch.sh sets it: OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE unset, OPENBLAS_NUM_THREADS=1, never on the netlib reference BLAS.
# Each contender is timed as a whole process, start-up, data loading and kernel builds
# included, from its launch until it prints the first epoch line whose test accuracy is
# >= TARGET (bench/run_to_accuracy.py reads the test% column from the table's header, so
# --val's extra columns are fine), and killed then; a run that ends first is 'not reached'
# and its whole time is shown. Prints every round's seconds, each contender's best and its
# epochs, and the ratio mnistcl best / PyTorch best (over the four PyTorch variants).
# usage: bench/time_to_accuracy.sh [TARGET] [ROUNDS]     (from the repository root)
#        TARGET test accuracy in % (default 98.0); ROUNDS (default 2)
# environment: MNISTCL_BIN (default build/mnistcl), MNISTCL_ARGS (default
#        "train --preset speedrun"; e.g. "train --layers 784,800,10 --epochs 8"),
#        TORCH_EPOCHS (the PyTorch runs' length, default 15), TORCH_LAYERS (784,800,10),
#        TORCH_SGD ("BATCH LR MOMENTUM", default "64 0.05 0.9"),
#        TORCH_ADAM ("BATCH LR", default "128 0.001"), RUN_TIMEOUT (seconds per run, 900)
set -euo pipefail
target=${1:-98.0}
rounds=${2:-2}
bin=${MNISTCL_BIN:-build/mnistcl}
mnistcl_args=${MNISTCL_ARGS:-train --preset speedrun}
torch_epochs=${TORCH_EPOCHS:-15}
torch_layers=${TORCH_LAYERS:-784,800,10}
read -r sgd_batch sgd_lr sgd_momentum <<<"${TORCH_SGD:-64 0.05 0.9}"
read -r adam_batch adam_lr <<<"${TORCH_ADAM:-128 0.001}"
timeout=${RUN_TIMEOUT:-900}
source "$(dirname "${BASH_SOURCE[0]}")/torch_env.sh" # $py, the checks
log=$(mktemp /tmp/time_to_accuracy.XXXXXX)
trap 'rm -f "$log"' EXIT

names=("mnistcl" "torch SGD, 1 thread" "torch SGD, 2 threads" "torch Adam, 1 thread"
       "torch Adam, 2 threads")
# one contender's run: prints run_to_accuracy.py's line ("reached S EPOCH ACC", ...)
run_one() {
    local i=$1
    case $i in
        0) # word splitting of MNISTCL_ARGS is wanted
            # shellcheck disable=SC2086
            RUN_LOG="$log" "$py" bench/run_to_accuracy.py "$target" "$timeout" "$bin" $mnistcl_args ;;
        1 | 2 | 3 | 4)
            local threads=$(((i - 1) % 2 + 1)) opt batch lr momentum
            if [ "$i" -le 2 ]; then opt=sgd batch=$sgd_batch lr=$sgd_lr momentum=$sgd_momentum
            else opt=adam batch=$adam_batch lr=$adam_lr momentum=0; fi
            env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 RUN_LOG="$log" \
                "$py" bench/run_to_accuracy.py "$target" "$timeout" "$py" \
                bench/pytorch_time_to_acc.py "$torch_layers" "$torch_epochs" "$batch" "$opt" \
                "$lr" "$momentum" "$threads" ;;
    esac
}

declare -A cell best best_epochs
device=""
echo "target: test accuracy >= $target%; $rounds round(s); machine: $(nproc) CPU(s), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "mnistcl: $bin $mnistcl_args"
echo "torch: $torch_layers, SGD batch $sgd_batch lr $sgd_lr momentum $sgd_momentum; Adam batch $adam_batch lr $adam_lr; at most $torch_epochs epochs"
for r in $(seq 1 "$rounds"); do
    for i in 0 1 2 3 4; do
        result=$(run_one "$i") || true
        read -r kind seconds epochs acc <<<"$result"
        if [ "$i" = 0 ] && [ -z "$device" ]; then device=$(sed -n 's/^device: //p' "$log" | head -1); fi
        case $kind in
            reached)
                cell[$i,$r]=$seconds
                if [ -z "${best[$i]:-}" ] || awk -v a="$seconds" -v b="${best[$i]}" 'BEGIN { exit !(a < b) }'; then
                    best[$i]=$seconds best_epochs[$i]=$epochs
                fi ;;
            not_reached) cell[$i,$r]="n/r($seconds)" ;;
            *)
                echo "${names[$i]} failed in round $r (exit ${epochs:-?}; its output's end above)" >&2
                [ "$i" = 0 ] && exit 1
                cell[$i,$r]="failed" ;;
        esac
        echo "round $r: ${names[$i]}: $kind ${seconds:-} s, epoch ${epochs:-} test ${acc:-}%"
    done
done

echo
[ -n "$device" ] && echo "mnistcl device: $device"
printf "%-24s" "contender"
for r in $(seq 1 "$rounds"); do printf " %12s" "round $r (s)"; done
printf " %9s %7s\n" "best (s)" "epochs"
torch_best=""
for i in 0 1 2 3 4; do
    printf "%-24s" "${names[$i]}"
    for r in $(seq 1 "$rounds"); do printf " %12s" "${cell[$i,$r]}"; done
    printf " %9s %7s\n" "${best[$i]:-not reached}" "${best_epochs[$i]:--}"
    if [ "$i" -gt 0 ] && [ -n "${best[$i]:-}" ]; then
        if [ -z "$torch_best" ] || awk -v a="${best[$i]}" -v b="$torch_best" 'BEGIN { exit !(a < b) }'; then
            torch_best=${best[$i]} torch_best_name=${names[$i]}
        fi
    fi
done
if [ -n "${best[0]:-}" ] && [ -n "$torch_best" ]; then
    awk -v m="${best[0]}" -v t="$torch_best" -v n="$torch_best_name" 'BEGIN {
        printf "ratio mnistcl best / PyTorch best (%s): %.3f s / %.3f s = %.2f\n", n, m, t, m / t }'
else
    echo "ratio: n/a (mnistcl best: ${best[0]:-not reached}; PyTorch best: ${torch_best:-not reached})"
fi

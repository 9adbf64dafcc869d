#!/usr/bin/env bash
# Kill-and-resume is bit for bit with everything that depends on the step on: AdamW (its
# two moments and bias corrections), a cosine schedule with warm-up (the rate of each step),
# dropout on the hidden layers and the input (masks from the step number), and the
# distortions (drawn from the epoch). A run is killed with SIGKILL at a mid-epoch
# checkpoint of its second epoch or later, resumed, and must end with exactly the weights,
# the Adam state (the checkpoint's tensors) and the test accuracy of a run never
# interrupted, on the given device. Then the same for Nesterov with a one-cycle schedule
# (batch 1 on OpenCL: the per-sample kernel computes each step's rate itself).
# Last, a checkpoint of a version before these settings (the keys removed) resumes as
# plain SGD at a constant rate, as it was trained.
# usage: resume_exact.sh PATH/TO/mnistcl PATH/TO/model_diff DEVICE PATH/TO/st_meta_set
set -u
bin=$1
diff_tool=$2
dev=$3
meta_tool=$4
tmp=$(mktemp -d)
pid=
trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
[ "$dev" = cpu ] || require_opencl "$bin"

# one_case NAME ARGS...: the uninterrupted run, the killed one, the resume, the checks
# (with $strip set: its settings removed from the killed run's checkpoint first)
strip=
one_case() {
    local name=$1
    shift
    local run=(train --device "$dev" "$@")
    if ! "$bin" "${run[@]}" --checkpoint "$tmp/$name.ref.ckpt" --save "$tmp/$name.ref.st" \
        >"$tmp/$name.ref.log" 2>&1; then
        fail "$name: uninterrupted run: $(tail -n 3 "$tmp/$name.ref.log")"
        return
    fi
    "$bin" "${run[@]}" --checkpoint "$tmp/$name.ckpt" --save "$tmp/$name.st" \
        >"$tmp/$name.log" 2>&1 &
    pid=$!
    local epoch step
    if ! kill_at_checkpoint "$pid" "$tmp/$name.ckpt" 2 6000 0.005; then
        fail "$name: the run ended before a mid-epoch checkpoint of epoch 2 or later was caught"
        return
    fi
    read -r epoch step <<<"$(checkpoint_progress "$tmp/$name.ckpt")"
    local key
    for key in $strip; do
        "$meta_tool" "$tmp/$name.ckpt" "setting.$key" || { fail "$name: st_meta_set"; return; }
    done
    if ! "$bin" train --device "$dev" --resume "$tmp/$name.ckpt" --save "$tmp/$name.st" \
        >"$tmp/$name.resume.log" 2>&1; then
        fail "$name: resume: $(tail -n 3 "$tmp/$name.resume.log")"
        return
    fi
    if "$diff_tool" "$tmp/$name.st" "$tmp/$name.ref.st" >/dev/null &&
        "$diff_tool" "$tmp/$name.ckpt" "$tmp/$name.ref.ckpt" >/dev/null; then
        ok "$name: killed at epoch $epoch step $step, resumed: weights bit for bit the uninterrupted run's"
    else
        fail "$name: killed at epoch $epoch step $step: the resumed weights differ from the uninterrupted run's"
    fi
    # the optimizer's state and everything else the checkpoints hold: the same bytes
    if cmp -s "$tmp/$name.ckpt" "$tmp/$name.ref.ckpt"; then
        ok "$name: the final checkpoints (weights, optimizer state, progress) are the same bytes"
    else
        fail "$name: the final checkpoints differ: $(cmp "$tmp/$name.ckpt" "$tmp/$name.ref.ckpt")"
    fi
    local a b
    a=$(sed -n 's/^test accuracy //p' "$tmp/$name.ref.log")
    b=$(sed -n 's/^test accuracy //p' "$tmp/$name.resume.log")
    [ -n "$a" ] && [ "$a" = "$b" ] && ok "$name: test accuracy $b both ways" ||
        fail "$name: test accuracy $b after resuming, $a uninterrupted"
}

one_case adamw --hidden 48 --train-limit 3000 --epochs 3 --batch 50 --checkpoint-every 7 \
    --optimizer adamw --lr 2e-3 --weight-decay 1e-2 --schedule cosine --warmup 10 \
    --dropout 0.2 --input-dropout 0.05 --augment
if [ "$dev" = cpu ]; then batch1=(--train-limit 400); else batch1=(--train-limit 3000); fi
one_case nesterov --layers 784,32,16,10 "${batch1[@]}" --epochs 3 --batch 1 \
    --checkpoint-every 97 --optimizer nesterov --lr 0.01 --schedule onecycle

# the settings this version added: a checkpoint of the version before has none of them
strip="optimizer beta1 beta2 eps schedule warmup step-epochs gamma final-lr dropout
       input-dropout augment shift rotate scale elastic-alpha elastic-sigma val early-stop
       plateau"
one_case before-rules --hidden 32 --train-limit 2000 --epochs 2 --batch 64 \
    --checkpoint-every 5

[ "$fails" -eq 0 ] || { echo "FAILED: $fails check(s)"; exit 1; }
echo "all checks passed"

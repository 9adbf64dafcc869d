#!/usr/bin/env bash
# The three ways the training images reach the device train to the same bits: resident
# (one buffer each), split (parts of consecutive images, windows assembled on the device)
# and streamed (windows assembled on the host and sent). MNISTCL_DEVICE_LIMITS lowers the
# device's largest buffer and memory so MNIST itself takes each path; `train --plan` says
# which one a run took, and every run must end with exactly the weights of the resident
# run: the pixel-list path of CPU devices, the gathered images of GPUs
# (MNISTCL_GPU_PATHS=1), the per-sample kernel (batch 1), the CPU reference, a batch that
# does not divide the window, and a streamed run killed mid-epoch and resumed.
# usage: data_paths.sh PATH/TO/mnistcl PATH/TO/model_diff
set -u
bin=$1
diff_tool=$2
tmp=$(mktemp -d)
pid=
trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
require_opencl "$bin"

# placement ENV... COMMAND...: the training set's line of `train --plan` under ENV
placement() {
    env "$@" --plan 2>&1 | sed -n 's/^training set: //p' | grep -m1 . || echo "no data line"
}

# same NAME PATTERN LIMITS ARGS...: trains with ARGS resident (once for each ARGS and
# MNISTCL_GPU_PATHS) and under MNISTCL_DEVICE_LIMITS=LIMITS (whose --plan must match
# PATTERN); the models must be equal
same() {
    local name=$1 pattern=$2 limits=$3
    shift 3
    local where ref
    ref="$tmp/ref.$(echo "${MNISTCL_GPU_PATHS:-} $*" | md5sum | cut -c1-12).st"
    where=$(placement MNISTCL_DEVICE_LIMITS="$limits" "$bin" train "$@")
    if ! grep -Eq -- "$pattern" <<<"$where"; then
        fail "$name: under MNISTCL_DEVICE_LIMITS=$limits --plan says '$where', want /$pattern/"
        return
    fi
    [ -f "$ref" ] || "$bin" train "$@" --save "$ref" >"$tmp/$name.ref.log" 2>&1 ||
        { fail "$name: resident run: $(tail -n 2 "$tmp/$name.ref.log")"; return; }
    if ! MNISTCL_DEVICE_LIMITS=$limits "$bin" train "$@" --save "$tmp/$name.$limits.st" \
        >"$tmp/$name.log" 2>&1; then
        fail "$name ($limits): $(tail -n 2 "$tmp/$name.log")"
        return
    fi
    if "$diff_tool" "$ref" "$tmp/$name.$limits.st" >"$tmp/diff" 2>&1; then
        ok "$name: $where: the resident run's weights"
    else
        fail "$name ($limits, $where): $(cat "$tmp/diff")"
    fi
}

# 20000 images: 15.7 MB of images, ~12 MB of pixel lists
# (the 10000 test images, 7.8 MB, must fit one buffer: only training sets are windowed)
small=(--train-limit 20000 --epochs 1 --seed 5)
same lists streamed 8M --train-limit 20000 --epochs 2 --seed 5
same lists-batch-100 streamed 8M "${small[@]}" --batch 100
export MNISTCL_GPU_PATHS=1
same gathered-split 'split into' 8M,64M "${small[@]}"
same gathered-streamed streamed 8M,30M "${small[@]}"
same gathered-augment 'split into' 8M,64M --train-limit 12000 --epochs 1 --augment --seed 5
unset MNISTCL_GPU_PATHS
same per-sample streamed 8M --preset botacademy --train-limit 20000 --epochs 1
same reference streamed 8M --device cpu --train-limit 16000 --epochs 1 --seed 5
# two devices (data parallel), each streaming its own windows
export POCL_DEVICES="pthread pthread"
same two-devices streamed 8M --device 0:0,0:1 --train-limit 20000 --epochs 1 --seed 5
unset POCL_DEVICES

# a streamed run killed mid-epoch (SIGKILL at a checkpoint of epoch 2) and resumed: the
# weights of the resident run
limits=8M
run=(train --train-limit 60000 --epochs 3 --seed 5 --checkpoint-every 20)
lists_ref=$tmp/lists3.st
"$bin" train --train-limit 60000 --epochs 3 --seed 5 --save "$lists_ref" >/dev/null 2>&1 ||
    fail "the resident 3-epoch run failed"
MNISTCL_DEVICE_LIMITS=$limits "$bin" "${run[@]}" --checkpoint "$tmp/k.ckpt" \
    --save "$tmp/k.st" >"$tmp/k.log" 2>&1 &
pid=$!
if kill_at_checkpoint "$pid" "$tmp/k.ckpt" 2 4000 0.005; then
    at=$(checkpoint_progress "$tmp/k.ckpt")
    if MNISTCL_DEVICE_LIMITS=$limits "$bin" train --resume "$tmp/k.ckpt" --save "$tmp/k.st" \
        >"$tmp/k2.log" 2>&1 && "$diff_tool" "$lists_ref" "$tmp/k.st" >"$tmp/diff" 2>&1
    then
        ok "streamed, killed at epoch, step ${at}and resumed: the resident run's weights"
    else
        fail "streamed resume: $(tail -n 2 "$tmp/k2.log") $(cat "$tmp/diff" 2>/dev/null)"
    fi
else
    fail "the streamed run ended before a mid-epoch checkpoint: $(tail -n 2 "$tmp/k.log")"
fi

# what cannot fit says so: a batch whose activations pass the device's largest buffer
expect 6 'larger than .* allows: at most 8388608 bytes' env MNISTCL_DEVICE_LIMITS=8M \
    "$bin" train --train-limit 20000 --batch 10000 --epochs 1
finish

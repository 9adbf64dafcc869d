#!/usr/bin/env bash
# Crash safety: a run is killed with SIGKILL once it has written a checkpoint in the middle
# of an epoch; the checkpoint must be a valid model (`eval --model` reads it), and resuming
# it must end with the same weights as a run never interrupted: bit for bit on the CPU
# reference, within the training-parity tolerance on OpenCL.
# usage: kill_resume.sh PATH/TO/mnistcl PATH/TO/model_diff DEVICE
set -u
bin=$1
diff_tool=$2
dev=$3
tmp=$(mktemp -d)
trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
pid=
fatal() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/lib.sh"
[ "$dev" = cpu ] || require_opencl "$bin"
# the CPU reference is slow enough to catch mid-epoch with 60000 images; OpenCL is
# caught with frequent checkpoints and more epochs
if [ "$dev" = cpu ]; then args=(--epochs 2 --checkpoint-every 40); else args=(--epochs 4 --checkpoint-every 10); fi
run=(train --device "$dev" --hidden 64 "${args[@]}")

"$bin" "${run[@]}" --checkpoint "$tmp/ref.ckpt" --save "$tmp/ref.safetensors" >"$tmp/ref.log" ||
    fatal "uninterrupted run: $(cat "$tmp/ref.log")"

# progress of a checkpoint: "EPOCH STEP" from its JSON header
progress() {
    head -c 4096 "$1" 2>/dev/null | tr ',' '\n' |
        sed -n 's/.*"\(epoch\|step\)":"\([0-9]*\)".*/\2/p' | tr '\n' ' '
}
"$bin" "${run[@]}" --checkpoint "$tmp/run.ckpt" --save "$tmp/resumed.safetensors" >"$tmp/run.log" 2>&1 &
pid=$!
killed=
for _ in $(seq 1 2000); do
    read -r epoch step <<<"$(progress "$tmp/run.ckpt")"
    if [ -n "${step:-}" ] && [ "$step" -gt 0 ]; then
        kill -9 "$pid"
        killed="epoch $epoch step $step"
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
done
wait "$pid" 2>/dev/null
[ -n "$killed" ] || fatal "the run ended before a mid-epoch checkpoint could be caught"
read -r epoch step <<<"$(progress "$tmp/run.ckpt")"
echo "ok  killed with SIGKILL; the checkpoint holds epoch $epoch step $step"
"$bin" eval --device cpu --model "$tmp/run.ckpt" >"$tmp/eval.log" 2>&1 ||
    fatal "the checkpoint left by the kill is not a valid model: $(cat "$tmp/eval.log")"
echo "ok  the checkpoint is a valid model: $(tail -n 1 "$tmp/eval.log")"

"$bin" train --device "$dev" --resume "$tmp/run.ckpt" --checkpoint "$tmp/run.ckpt" \
    --save "$tmp/resumed.safetensors" >"$tmp/resume.log" 2>&1 || fatal "resume: $(cat "$tmp/resume.log")"
grep -q "^resuming .* at epoch $epoch, step $step" "$tmp/resume.log" || fatal "resume did not start at the checkpoint"
if [ "$dev" = cpu ]; then
    "$diff_tool" "$tmp/resumed.safetensors" "$tmp/ref.safetensors" || fatal "weights differ from the uninterrupted run"
    echo "ok  resumed weights are bit for bit the uninterrupted run's"
else
    "$diff_tool" "$tmp/resumed.safetensors" "$tmp/ref.safetensors" 2e-6 1e-5 ||
        fatal "weights differ from the uninterrupted run beyond the parity tolerance"
    echo "ok  resumed weights match the uninterrupted run's within 2e-6 + 1e-5|w|"
fi
ref_acc=$(sed -n 's/^test accuracy //p' "$tmp/ref.log")
res_acc=$(sed -n 's/^test accuracy //p' "$tmp/resume.log")
[ "$ref_acc" = "$res_acc" ] || fatal "test accuracy $res_acc after resuming, $ref_acc uninterrupted"
echo "all checks passed"

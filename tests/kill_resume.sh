#!/usr/bin/env bash
# Crash safety: a run is killed with SIGKILL once it has written a checkpoint in the middle
# of an epoch; the checkpoint must be a valid model (`eval --model` reads it), and resuming
# it must end with the same weights as a run never interrupted: bit for bit on the CPU
# reference, within the training-parity tolerance on OpenCL.
# Then the same with a validation set, early stopping and reduce-on-plateau (--val 0.25
# --early-stop 2 --plateau 0.5:0), killed in epoch 4 or later (after a reduction, with a
# best epoch kept): the resumed run must end as the uninterrupted one did, with the same
# best weights saved, the same last weights in the checkpoint, and, byte for byte, the same
# epoch lines from the resumed epoch on (the timing columns aside; in the resumed epoch
# also its training loss, summed in two parts), plateau and early-stop lines, and test
# accuracy.
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

"$bin" "${run[@]}" --checkpoint "$tmp/run.ckpt" --save "$tmp/resumed.safetensors" >"$tmp/run.log" 2>&1 &
pid=$!
killed=
kill_at_checkpoint "$pid" "$tmp/run.ckpt" 1 2000 0.01 && killed=1
[ -n "$killed" ] || fatal "the run ended before a mid-epoch checkpoint could be caught"
read -r epoch step <<<"$(checkpoint_progress "$tmp/run.ckpt")"
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

# ---- with --val, --early-stop and --plateau ----------------------------------------------
# (on 9000 training images the uninterrupted run reduces the rate after epochs 2, 5, 8 and
# 9, keeps epoch 7 and stops early after epoch 9)
val=(train --device "$dev" --hidden 64 --train-limit 12000 --val 0.25 --lr 0.5 --epochs 12
     --early-stop 2 --plateau 0.5:0 --checkpoint-every 5)
"$bin" "${val[@]}" --checkpoint "$tmp/vref.ckpt" --save "$tmp/vref.st" >"$tmp/vref.log" ||
    fatal "uninterrupted --val run: $(cat "$tmp/vref.log")"
grep -q "^early stop after epoch" "$tmp/vref.log" && grep -q "^plateau after epoch" "$tmp/vref.log" ||
    fatal "the uninterrupted --val run neither stopped early nor reduced its rate: $(cat "$tmp/vref.log")"
"$bin" "${val[@]}" --checkpoint "$tmp/vrun.ckpt" --save "$tmp/vrun.st" >"$tmp/vrun.log" 2>&1 &
pid=$!
killed=
kill_at_checkpoint "$pid" "$tmp/vrun.ckpt" 4 3000 0.005 && killed=1
[ -n "$killed" ] || fatal "the --val run ended before a checkpoint in epoch 4 or later was caught"
read -r epoch step <<<"$(checkpoint_progress "$tmp/vrun.ckpt")"
head -c 8192 "$tmp/vrun.ckpt" | grep -aq '"plateau.lr_scale":"0.5"' &&
    head -c 8192 "$tmp/vrun.ckpt" | grep -aq '"best.params"' ||
    fatal "the checkpoint of epoch $epoch lacks the plateau multiplier 0.5 or the best weights"
echo "ok  --val run killed with SIGKILL; the checkpoint holds epoch $epoch step $step, multiplier 0.5, best.params"
"$bin" train --device "$dev" --resume "$tmp/vrun.ckpt" --save "$tmp/vrun.st" >"$tmp/vresume.log" 2>&1 ||
    fatal "resume of the --val run: $(cat "$tmp/vresume.log")"
if [ "$dev" = cpu ]; then tol=(); else tol=(2e-6 1e-5); fi
"$diff_tool" "$tmp/vrun.st" "$tmp/vref.st" "${tol[@]}" >/dev/null ||
    fatal "the best weights saved after resuming differ from the uninterrupted run's"
"$diff_tool" "$tmp/vrun.ckpt" "$tmp/vref.ckpt" "${tol[@]}" >/dev/null ||
    fatal "the last weights (checkpoint) after resuming differ from the uninterrupted run's"
echo "ok  resumed --val run: the saved best weights and the last ones match the uninterrupted run's"
# the lines from epoch $epoch on: epoch lines without the timing columns (the resumed epoch's
# training loss aside), plateau and early-stop lines, test accuracy, what was saved
lines() {
    awk -v from="$epoch" '
        /^ +[0-9]+ / { if ($1 > from) print $1, $2, $3, $4, $5, $6; else if ($1 == from) print $1, $3, $4, $5, $6; next }
        /^(plateau|early stop) after epoch/ { e = $0; sub(/^[a-z ]+after epoch /, "", e); sub(/:.*/, "", e); if (e + 0 >= from) print; next }
        /^test accuracy|^saved/ { print }' "$1" | sed "s|$tmp/v[a-z]*\.st|MODEL|"
}
lines "$tmp/vref.log" >"$tmp/vref.lines"
lines "$tmp/vresume.log" >"$tmp/vresume.lines"
grep -q "^$epoch " "$tmp/vresume.lines" && diff "$tmp/vref.lines" "$tmp/vresume.lines" >"$tmp/vdiff" ||
    fatal "the resumed run's lines differ from the uninterrupted run's: $(cat "$tmp/vdiff")"
echo "ok  resumed --val run: $(wc -l <"$tmp/vresume.lines") lines from epoch $epoch on, byte for byte the uninterrupted run's"
echo "all checks passed"

#!/usr/bin/env bash
# Several devices, one process (`train --device 0:0,0:1`), on two pocl devices
# (POCL_DEVICES="pthread pthread" makes 0:0 and 0:1) and on two instances of the CPU
# reference: the default network trained for an epoch on two devices is within 0.1
# percentage points of the one-device test accuracy (its weights are not compared: over
# 469 steps a ReLU unit at its kink now and then goes the other way on one device than on
# the other, as between one pocl device and the reference, and the runs part by more than
# rounding); the same two-device run again writes the same model file, byte for byte; a
# run killed (SIGKILL) at a mid-epoch checkpoint resumes to the uninterrupted run's
# weights, bit for bit; the device line names both devices; the checkpoint records
# the replicas, and resuming on another count says so. Usage errors: a device listed
# twice, an empty entry, devices that compute differently (the reference and OpenCL),
# batch 1 (the per-sample kernel) over two devices, a list given to a command other than
# train.
# usage: multi_device.sh PATH/TO/mnistcl PATH/TO/model_diff
set -u
bin=$1
diff_tool=$2
tmp=$(mktemp -d)
pid=
trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
fatal() { echo "FAIL: $*"; exit 1; }
source "$(dirname "$0")/lib.sh"
export POCL_DEVICES="pthread pthread"
require_opencl "$bin"
"$bin" devices | grep -q "device 0:1 " ||
    fatal "no device 0:1, POCL_DEVICES='$POCL_DEVICES': $("$bin" devices 2>&1 | head -n 5)"

# accuracy LOG -> the final test percentage ("test accuracy 97.12% (...)")
accuracy() { sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p' "$1"; }
# within_tenth A B: whether two percentages are at most 0.1 points apart
within_tenth() {
    awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(a != "" && d <= 0.1 && d >= -0.1) }'
}

# ---- the default network, one epoch: one device against two --------------------------------
run=(train --epochs 1 --seed 7)
"$bin" "${run[@]}" --device 0:0 --save "$tmp/one.st" >"$tmp/one.log" 2>&1 ||
    fatal "one device: $(cat "$tmp/one.log")"
"$bin" "${run[@]}" --device 0:0,0:1 --save "$tmp/two.st" >"$tmp/two.log" 2>&1 ||
    fatal "two devices: $(cat "$tmp/two.log")"
grep -Eq '^device: OpenCL 0:0 .* \+ OpenCL 0:1 .*data parallel' "$tmp/two.log" &&
    ok "the device line names both: $(grep '^device: ' "$tmp/two.log" | cut -c1-100)" ||
    fail "the device line: $(grep '^device' "$tmp/two.log")"
a1=$(accuracy "$tmp/one.log") a2=$(accuracy "$tmp/two.log")
[ -n "$a1" ] && [ -n "$a2" ] || fatal "no test accuracy: '$a1' '$a2'"
if within_tenth "$a1" "$a2"; then
    ok "test accuracy $a2% on two devices, $a1% on one (within 0.1 points)"
else
    fail "test accuracy $a2% on two devices, $a1% on one: more than 0.1 points apart"
fi
"$bin" "${run[@]}" --device 0:0,0:1 --save "$tmp/two_again.st" >"$tmp/two_again.log" 2>&1 ||
    fatal "two devices again: $(cat "$tmp/two_again.log")"
cmp -s "$tmp/two.st" "$tmp/two_again.st" && ok "the two-device run repeats byte for byte" ||
    fail "a second two-device run wrote another model file"

# ---- killed at a mid-epoch checkpoint, resumed: the uninterrupted run's weights ----------
ck=(train --epochs 2 --seed 9 --hidden 64 --device 0:0,0:1 --checkpoint-every 10)
"$bin" "${ck[@]}" --checkpoint "$tmp/ref.ckpt" --save "$tmp/ref.st" >"$tmp/ref.log" 2>&1 ||
    fatal "uninterrupted: $(cat "$tmp/ref.log")"
grep -aq '"data.replicas": *"2"' "$tmp/ref.ckpt" &&
    ok "the checkpoint records data.replicas = 2" || fail "the checkpoint lacks data.replicas = 2"
"$bin" "${ck[@]}" --checkpoint "$tmp/run.ckpt" --save "$tmp/resumed.st" >"$tmp/run.log" 2>&1 &
pid=$!
kill_at_checkpoint "$pid" "$tmp/run.ckpt" 1 4000 0.005 ||
    fatal "the run ended before a mid-epoch checkpoint could be caught"
pid=
read -r epoch step <<<"$(checkpoint_progress "$tmp/run.ckpt")"
"$bin" train --device 0:0,0:1 --resume "$tmp/run.ckpt" --save "$tmp/resumed.st" \
    >"$tmp/resume.log" 2>&1 || fatal "resume: $(cat "$tmp/resume.log")"
grep -q "^resuming .* at epoch $epoch, step $step" "$tmp/resume.log" ||
    fail "the resume did not start at the checkpoint (epoch $epoch, step $step)"
grep -q "^note: the checkpoint's run summed" "$tmp/resume.log" &&
    fail "a note about another replica count on the same devices"
"$diff_tool" "$tmp/resumed.st" "$tmp/ref.st" >"$tmp/diff.log" 2>&1 &&
    ok "killed at epoch $epoch step $step, resumed: the uninterrupted run's weights, bit for bit" ||
    fail "the resumed weights differ: $(cat "$tmp/diff.log")"
[ "$(accuracy "$tmp/resume.log")" = "$(accuracy "$tmp/ref.log")" ] ||
    fail "test accuracy $(accuracy "$tmp/resume.log")% resumed," \
        "$(accuracy "$tmp/ref.log")% uninterrupted"
# the same checkpoint on one device: allowed, with the note
"$bin" train --device 0:0 --resume "$tmp/run.ckpt" --checkpoint "$tmp/one.ckpt" \
    --save "$tmp/one_resumed.st" >"$tmp/one_resume.log" 2>&1 ||
    fatal "resume on one device: $(cat "$tmp/one_resume.log")"
grep -q "^note: the checkpoint's run summed each step's gradient over 2 replicas, this one over 1" \
    "$tmp/one_resume.log" && ok "resumed on one device, with the note" ||
    fail "no note resuming two replicas' checkpoint on one: $(head -n 4 "$tmp/one_resume.log")"
a1=$(accuracy "$tmp/one_resume.log") a2=$(accuracy "$tmp/ref.log")
within_tenth "$a1" "$a2" && ok "... test accuracy $a1%, the two-device run's $a2%" ||
    fail "resumed on one device: test accuracy $a1%, two devices $a2%"

# ---- the CPU reference, twice -------------------------------------------------------------
ref=(train --epochs 1 --seed 5 --train-limit 3000 --hidden 32)
"$bin" "${ref[@]}" --device cpu --save "$tmp/cpu1.st" >"$tmp/cpu1.log" 2>&1 ||
    fatal "cpu: $(cat "$tmp/cpu1.log")"
"$bin" "${ref[@]}" --device cpu,cpu --save "$tmp/cpu2.st" >"$tmp/cpu2.log" 2>&1 ||
    fatal "cpu,cpu: $(cat "$tmp/cpu2.log")"
"$bin" "${ref[@]}" --device cpu,cpu --save "$tmp/cpu2b.st" >/dev/null 2>&1 ||
    fatal "cpu,cpu again"
"$diff_tool" "$tmp/cpu2.st" "$tmp/cpu1.st" 2e-6 1e-5 >"$tmp/diff.log" 2>&1 &&
    ok "cpu,cpu: within the parity tolerance of cpu" \
        "($(accuracy "$tmp/cpu2.log")% / $(accuracy "$tmp/cpu1.log")%)" ||
    fail "cpu,cpu beyond the parity tolerance of cpu: $(cat "$tmp/diff.log")"
cmp -s "$tmp/cpu2.st" "$tmp/cpu2b.st" && ok "cpu,cpu repeats byte for byte" ||
    fail "cpu,cpu: a second run wrote another model file"

# ---- usage errors -------------------------------------------------------------------------
expect_message 2 "device 0:0 is listed twice" "$bin" train --device 0:0,0:0 --epochs 1
expect_message 2 "an entry is empty" "$bin" train --device 0:0, --epochs 1
expect_message 2 "compute alike" "$bin" train --device cpu,0:0 --epochs 1
expect_message 2 "all stands alone" "$bin" train --device all,cpu --epochs 1
expect_message 2 "--batch 1: .*per-sample kernel" "$bin" train --preset botacademy --device 0:0,0:1
expect_message 2 "for .train. only" "$bin" eval --device 0:0,0:1 --model "$tmp/two.st"
MNISTCL_DEVICE=0:0,0:1 expect_message 2 "for .train. only" "$bin" eval --model "$tmp/two.st"
expect 0 "^device: OpenCL 0:0 .* \+ OpenCL 0:1 " "$bin" train --device all --epochs 1 \
    --train-limit 256 --plan

finish

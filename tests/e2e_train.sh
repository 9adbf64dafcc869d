#!/usr/bin/env bash
# End to end on the real MNIST through OpenCL:
#  1. one epoch of the default 784-128-10 network; the output names the OpenCL device,
#     and the test accuracy is at least 94%;
#  2. `eval --model` of the saved file prints exactly the accuracy training printed;
#  3. the same short run (6000 images) on the CPU reference and on OpenCL ends within
#     0.3 percentage points of test accuracy;
#  4. `mnistcl tune --quick` writes the tuning cache, and the next run reads it; a
#     malformed line added to it is one warning, and the valid line is still used.
# With CI=true a missing OpenCL device fails the test; elsewhere it is skipped (77).
# usage: e2e_train.sh PATH/TO/mnistcl
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fatal() { echo "FAIL: $*"; exit 1; }

source "$(dirname "$0")/lib.sh"
require_opencl "$bin"
dev=${MNISTCL_TEST_DEVICE:-opencl}

"$bin" train --device "$dev" --epochs 1 --save "$tmp/m.safetensors" | tee "$tmp/train.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || fatal "training failed"
grep -q "^device: OpenCL" "$tmp/train.log" || fatal "training did not name an OpenCL device"
acc=$(sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p' "$tmp/train.log")
[ -n "$acc" ] || fatal "no test accuracy printed"
awk -v a="$acc" 'BEGIN { exit !(a >= 94.0) }' || fatal "test accuracy $acc% < 94% after one epoch"

"$bin" eval --device "$dev" --model "$tmp/m.safetensors" | tee "$tmp/eval.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || fatal "eval failed"
grep -q "^test accuracy $acc%" "$tmp/eval.log" || fatal "eval does not reproduce $acc%"

for d in cpu "$dev"; do
    "$bin" train --device "$d" --epochs 1 --train-limit 6000 >"$tmp/short-$d.log" || fatal "short run on $d"
done
a_cpu=$(sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p' "$tmp/short-cpu.log")
a_cl=$(sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p' "$tmp/short-$dev.log")
echo "6000-image run: CPU reference $a_cpu%, OpenCL $a_cl%"
awk -v a="$a_cpu" -v b="$a_cl" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.3) }' ||
    fatal "CPU reference $a_cpu% and OpenCL $a_cl% differ by more than 0.3 points"
export MNISTCL_TUNE_CACHE="$tmp/tuning.txt"
"$bin" tune --device "$dev" --quick | tee "$tmp/tune.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || fatal "tune failed"
grep -q "^best: .* saved to $tmp/tuning.txt" "$tmp/tune.log" || fatal "tune saved nothing"
"$bin" train --device "$dev" --epochs 1 --train-limit 1000 >"$tmp/tuned.log" || fatal "tuned run"
grep -q "^kernel tuning from $tmp/tuning.txt" "$tmp/tuned.log" || fatal "the cache was not used"
sed -i '1i garbage' "$tmp/tuning.txt"
"$bin" train --device "$dev" --epochs 1 --train-limit 1000 >"$tmp/bad.log" 2>&1
[ $? -eq 0 ] && grep -q "warning: .*tuning.txt:1: expected KEY<TAB>.*line ignored" "$tmp/bad.log" &&
    grep -q "^kernel tuning from $tmp/tuning.txt" "$tmp/bad.log" ||
    fatal "a malformed cache line must be one warning that says where, the valid line still used"
echo "all checks passed"

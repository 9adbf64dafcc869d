#!/usr/bin/env bash
# Command-line behaviour: --help texts with defaults, and every bad input answered with a
# one-line message and its documented exit code (2 usage, 3 data, 4 I/O, 5 OpenCL).
# usage: cli_usage.sh PATH/TO/mnistcl
set -u
bin=$1
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect CODE PATTERN -- ARGS...: runs mnistcl ARGS, checks the exit code and that the
# combined output matches the extended regex PATTERN.
expect() {
    local code=$1 pattern=$2
    shift 3
    local out rc
    out=$("$bin" "$@" 2>&1 </dev/null)
    rc=$?
    if [ "$rc" != "$code" ] || ! grep -Eq -- "$pattern" <<<"$out"; then
        echo "FAIL: mnistcl $* -> exit $rc (want $code), output:"
        sed 's/^/    /' <<<"$out" | head -20
        echo "    (wanted /$pattern/)"
        fails=$((fails + 1))
    else
        echo "ok  exit $rc  mnistcl $*  | $(tail -n 1 <<<"$out" | cut -c1-110)"
    fi
}

expect 0 "commands:" -- --help
expect 2 "usage: mnistcl COMMAND" --
expect 2 "unknown command 'fly'" -- fly
expect 0 "--epochs N +passes over the training set \[5\]" -- train --help
expect 0 "--batch N\|full .*\[128\]" -- train --help
expect 0 "--lr X +learning rate \[0.05\]" -- train --help
expect 0 "--momentum X .*\[0.9\]" -- train --help
expect 0 "--model FILE" -- eval --help
expect 0 "P:D numbers" -- devices --help
expect 2 "unknown option '--epoch'" -- train --epoch 3
expect 2 "--epochs -1: must be between 1 and" -- train --epochs -1
expect 2 "--epochs 'ten': not an integer" -- train --epochs ten
expect 2 "--lr 'nan': not a finite number" -- train --lr nan
expect 2 "--lr 'inf': not a finite number" -- train --lr inf
expect 2 "--lr 0: must be between" -- train --lr 0
expect 2 "--momentum 1: must be between" -- train --momentum 1
expect 2 "--epochs needs a value" -- train --epochs
expect 2 "--batch 0: must be between 1" -- train --batch 0
expect 2 "--batch 70000 is larger than the training set \(60000 images\)" -- train --batch 70000 --device cpu
expect 2 "--activation 'softplus'" -- train --activation softplus
expect 2 "--init 'zeros'" -- train --init zeros
expect 2 "--output 'hinge'" -- train --output hinge
expect 2 "--layers '784,,10'" -- train --layers 784,,10
expect 2 "the network takes 100 inputs but the training images have 28x28 = 784 pixels" -- train --layers 100,10 --device cpu
expect 2 "the network has 5 outputs but the training set has label 9" -- train --layers 784,5 --device cpu
expect 2 "--device 'banana'" -- train --device banana
expect 5 "no OpenCL device 9:9" -- train --device 9:9 --epochs 1
expect 2 "--dataset 'cifar'" -- train --dataset cifar
expect 4 "nowhere/train-images-idx3-ubyte: not found" -- train --data "$tmp/nowhere"
expect 2 "unexpected argument 'extra'" -- train extra
expect 2 "--shuffle takes no value" -- train --shuffle=1
expect 2 "eval needs --model FILE" -- eval
expect 4 "missing.safetensors: cannot open" -- eval --model "$tmp/missing.safetensors"
printf 'not a model' >"$tmp/junk.safetensors"
expect 3 "junk.safetensors: header length" -- eval --model "$tmp/junk.safetensors"
expect 2 "--set 'validation'" -- eval --model x --set validation
expect 2 "devices takes no arguments" -- devices --all

if [ "$fails" -ne 0 ]; then
    echo "FAILED: $fails check(s)"
    exit 1
fi
echo "all checks passed"

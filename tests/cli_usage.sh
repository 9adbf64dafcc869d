#!/usr/bin/env bash
# Command-line behaviour: --help texts with defaults, and every bad input answered with a
# one-line message and its documented exit code (2 usage, 3 data, 4 I/O, 5 OpenCL).
# usage: cli_usage.sh PATH/TO/mnistcl
set -u
bin=$1
source "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect 0 "commands:" "$bin" --help
expect 2 "usage: mnistcl COMMAND" "$bin"
expect 2 "unknown command 'fly'" "$bin" fly
expect 0 "--epochs N +passes over the training set \[5\]" "$bin" train --help
expect 0 "--batch N\|full .*\[128\]" "$bin" train --help
expect 0 "--lr X +learning rate \[0.05\]" "$bin" train --help
expect 0 "--momentum X .*\[0.9\]" "$bin" train --help
expect 0 "--model FILE" "$bin" eval --help
expect 0 "P:D numbers" "$bin" devices --help
expect 2 "unknown option '--epoch'" "$bin" train --epoch 3
expect 2 "--epochs -1: must be between 1 and" "$bin" train --epochs -1
expect 2 "--epochs 'ten': not an integer" "$bin" train --epochs ten
expect 2 "--lr 'nan': not a finite number" "$bin" train --lr nan
expect 2 "--lr 'inf': not a finite number" "$bin" train --lr inf
expect 2 "--lr 0: must be between" "$bin" train --lr 0
expect 2 "--momentum 1: must be between" "$bin" train --momentum 1
expect 2 "--epochs needs a value" "$bin" train --epochs
expect 2 "--batch 0: must be between 1" "$bin" train --batch 0
expect 2 "--batch 70000 is larger than the training set \(60000 images\)" "$bin" train --batch 70000 --device cpu
expect 2 "--activation 'softplus'" "$bin" train --activation softplus
expect 2 "--init 'zeros'" "$bin" train --init zeros
expect 2 "--output 'hinge'" "$bin" train --output hinge
expect 2 "--layers '784,,10'" "$bin" train --layers 784,,10
expect 2 "the network takes 100 inputs but the training images have 28x28 = 784 pixels" "$bin" train --layers 100,10 --device cpu
expect 2 "the network has 5 outputs but the training set has label 9" "$bin" train --layers 784,5 --device cpu
expect 2 "--device 'banana'" "$bin" train --device banana
expect 5 "no OpenCL device 9:9" "$bin" train --device 9:9 --epochs 1
expect 2 "--dataset 'cifar'" "$bin" train --dataset cifar
expect 4 "nowhere/train-images-idx3-ubyte: not found" "$bin" train --data "$tmp/nowhere"
expect 2 "unexpected argument 'extra'" "$bin" train extra
expect 2 "--shuffle takes no value" "$bin" train --shuffle=1
expect 2 "eval needs --model FILE" "$bin" eval
expect 4 "missing.safetensors: cannot open" "$bin" eval --model "$tmp/missing.safetensors"
printf 'not a model' >"$tmp/junk.safetensors"
expect 3 "junk.safetensors: header length" "$bin" eval --model "$tmp/junk.safetensors"
expect 2 "--set 'validation'" "$bin" eval --model x --set validation
expect 2 "devices takes no arguments" "$bin" devices --all

# validation, early stopping, reduce-on-plateau
expect 0 "--val N\|F +hold out N of the training images \(or the fraction F: 0.1 = 10%.*not stratified.*lowest validation loss" "$bin" train --help
expect 0 "--early-stop PATIENCE +stop when the validation loss.*needs --val; 0 = never\) \[0\]" "$bin" train --help
expect 0 "--plateau FACTOR\[:PATIENCE\] +reduce on plateau \(PyTorch's ReduceLROnPlateau: mode min, threshold 0.*\(default 2\)" "$bin" train --help
expect_message 2 "--early-stop needs --val N\|F" "$bin" train --early-stop 2
expect_message 2 "--plateau needs --val N\|F" "$bin" train --plateau 0.5
expect_message 2 "--early-stop -1: must be between 0 and" "$bin" train --val 100 --early-stop -1
expect_message 2 "--val 'ten': give a number of images \(--val 5000\) or a fraction" "$bin" train --val ten
expect_message 2 "--val 0: hold out at least 1 image" "$bin" train --val 0
expect_message 2 "--val 1.5: a fraction of the training set lies strictly between 0 and 1" "$bin" train --val 1.5
expect_message 2 "--val 70000: the training set has 60000 images \(after --train-limit\): hold out at most 59999" "$bin" train --val 70000 --device cpu
expect_message 2 "--val 500: the training set has 500 images" "$bin" train --val 500 --train-limit 500 --device cpu
expect_message 2 "--val 0.0001: 0.0001 of 1000 training images rounds to none" "$bin" train --val 0.0001 --train-limit 1000 --device cpu
expect_message 2 "--batch 600 is larger than the training set \(500 images\)" "$bin" train --val 500 --train-limit 1000 --batch 600 --device cpu
expect_message 2 "--plateau '1.5': the factor must lie strictly between 0 and 1" "$bin" train --val 100 --plateau 1.5
expect_message 2 "--plateau '0': the factor must lie strictly between 0 and 1" "$bin" train --val 100 --plateau 0
expect_message 2 "--plateau '0.5:x': the patience must be an integer from 0 to 1000000" "$bin" train --val 100 --plateau 0.5:x

finish

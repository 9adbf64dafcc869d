#!/usr/bin/env bash
# Every parser, fed malformed files through the command line, answers with a one-line
# message naming the file and the problem and the documented exit code (3: malformed
# input, 4: unreadable). IDX (raw and gzip), CSV, model files, checkpoints and the tuning
# cache here; command-line numbers in cli_usage.sh. Runs on the CPU reference.
# usage: bad_input.sh PATH/TO/mnistcl PATH/TO/data/mnist
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"

# a data folder with the real test set and a damaged training set
bad_set() { # NAME: makes $tmp/NAME with good test files; the caller damages the train files
    mkdir -p "$tmp/$1"
    cp "$data"/t10k-* "$tmp/$1/"
    head -c 16000 "$data/train-images-idx3-ubyte" >"$tmp/$1/train-images-idx3-ubyte"
    cp "$data/train-labels-idx1-ubyte" "$tmp/$1/"
}
bad_set truncated
expect_message 3 "train-images-idx3-ubyte: truncated: the header promises 47040000 data bytes, the file holds 15984" "$bin" train --device cpu --data "$tmp/truncated"
bad_set magic
printf '\x00\x00\x08\x05' | dd of="$tmp/magic/train-images-idx3-ubyte" conv=notrunc status=none
expect_message 3 "magic 0x00000805: 5 dimensions, expected 3" "$bin" train --device cpu --data "$tmp/magic"
bad_set gz
rm "$tmp/gz/train-images-idx3-ubyte"
head -c 5000 "$data/train-images-idx3-ubyte" | gzip -c | head -c 900 >"$tmp/gz/train-images-idx3-ubyte.gz"
expect_message 3 "train-images-idx3-ubyte.gz: (truncated|cannot decompress)" "$bin" train --device cpu --data "$tmp/gz"
bad_set counts
head -c 15696 "$data/train-images-idx3-ubyte" >"$tmp/counts/train-images-idx3-ubyte" # 20 images
head -c 1008 "$data/train-labels-idx1-ubyte" >"$tmp/counts/train-labels-idx1-ubyte"
printf '\x00\x00\x03\xe8' | dd of="$tmp/counts/train-labels-idx1-ubyte" bs=1 seek=4 conv=notrunc status=none
printf '\x00\x00\x00\x14' | dd of="$tmp/counts/train-images-idx3-ubyte" bs=1 seek=4 conv=notrunc status=none
expect_message 3 "holds 20 images but .* holds 1000 labels" "$bin" train --device cpu --data "$tmp/counts"
bad_set trailer # 20 images and labels, the images gzipped with the CRC/length trailer cut
head -c 15696 "$data/train-images-idx3-ubyte" >"$tmp/trailer/images"
head -c 28 "$data/train-labels-idx1-ubyte" >"$tmp/trailer/train-labels-idx1-ubyte"
printf '\x00\x00\x00\x14' | dd of="$tmp/trailer/images" bs=1 seek=4 conv=notrunc status=none
printf '\x00\x00\x00\x14' | dd of="$tmp/trailer/train-labels-idx1-ubyte" bs=1 seek=4 conv=notrunc status=none
rm "$tmp/trailer/train-images-idx3-ubyte"
gzip -c "$tmp/trailer/images" >"$tmp/trailer/full.gz"
head -c $(($(stat -c %s "$tmp/trailer/full.gz") - 8)) "$tmp/trailer/full.gz" >"$tmp/trailer/train-images-idx3-ubyte.gz"
expect_message 3 "train-images-idx3-ubyte.gz: damaged or truncated gzip data: unexpected end of file" "$bin" train --device cpu --batch 10 --epochs 1 --data "$tmp/trailer"
bad_set folder # a folder where the training images should be
rm "$tmp/folder/train-images-idx3-ubyte"
mkdir "$tmp/folder/train-images-idx3-ubyte"
expect_message 4 "folder/train-images-idx3-ubyte: is a directory, not a file" "$bin" train --device cpu --data "$tmp/folder"

printf 'label,pixel0,pixel1,pixel2,pixel3\n1,2,3,4,5\n1,2,x,4,5\n' >"$tmp/bad.csv"
expect_message 3 "bad.csv:3: pixel 1 \('x'\) is not an integer 0..255" "$bin" train --device cpu --train-csv "$tmp/bad.csv"
printf 'label,pixel0,pixel1,pixel2,pixel3\n11,2,3,4,5\n' >"$tmp/label.csv"
expect_message 3 "label.csv:2: label '11' is not an integer 0..9" "$bin" eval --untrained --device cpu --csv "$tmp/label.csv"

"$bin" train --device cpu --hidden 8 --epochs 1 --train-limit 200 --save "$tmp/m.safetensors" \
    --checkpoint "$tmp/c.ckpt" >/dev/null || { echo "FAIL: could not make a model"; exit 1; }
head -c 300 "$tmp/m.safetensors" >"$tmp/cut.safetensors"
expect_message 3 "cut.safetensors: header length [0-9]+ is larger than the file" "$bin" eval --device cpu --model "$tmp/cut.safetensors"
cp "$tmp/m.safetensors" "$tmp/flip.safetensors"
printf 'X' | dd of="$tmp/flip.safetensors" bs=1 seek=12 conv=notrunc status=none
expect_message 3 "flip.safetensors: header byte" "$bin" predict --model "$tmp/flip.safetensors" --index 0
expect_message 3 "m.safetensors: not an mnistcl checkpoint \(format mnistcl\)" "$bin" train --device cpu --resume "$tmp/m.safetensors"
sed 's/"step":"0"/"step":"z"/' "$tmp/c.ckpt" >"$tmp/step.ckpt" # same length: header intact
expect_message 3 "step.ckpt: epoch, step, rng, epoch_loss_sum or epoch_correct missing or malformed" "$bin" train --device cpu --resume "$tmp/step.ckpt"
expect_message 4 "nothing.ckpt: cannot open" "$bin" train --device cpu --resume "$tmp/nothing.ckpt"
mkfifo "$tmp/fifo.safetensors"
expect_message 4 "fifo.safetensors: is not a regular file" timeout 20 "$bin" eval --device cpu --model "$tmp/fifo.safetensors"
mkdir "$tmp/folder.csv"
expect_message 4 "folder.csv: is a directory, not a file" "$bin" train --device cpu --train-csv "$tmp/folder.csv"
printf '\xef\xbb\xbflabel,pixel0,pixel1,pixel2,pixel3\n11,2,3,4,5\n' >"$tmp/bom.csv" # the BOM is not a column
expect_message 3 "bom.csv:2: label '11' is not an integer 0..9" "$bin" eval --untrained --device cpu --csv "$tmp/bom.csv"
# the tuning cache is an optimisation: a malformed line (here another device's) or an
# unreadable cache is one warning line, and the run goes on
printf 'some device\trb_tm=5\n' >"$tmp/tuning.txt"
mkdir "$tmp/tuning-folder"
if "$bin" devices >/dev/null 2>&1; then
    export MNISTCL_TUNE_CACHE="$tmp/tuning.txt"
    expect_message 0 "warning: .*tuning.txt:1: rb_tm=5 is not an allowed value; line ignored" "$bin" train --device opencl --epochs 1 --train-limit 500 --hidden 8
    export MNISTCL_TUNE_CACHE="$tmp/tuning-folder"
    expect_message 0 "warning: .*tuning-folder: is a directory, not a file; tuning cache not used" "$bin" train --device opencl --epochs 1 --train-limit 500 --hidden 8
    unset MNISTCL_TUNE_CACHE
fi
finish

#!/usr/bin/env bash
# predict / forward / eval --untrained / CSV through the CLI, on a model trained here:
#  - the terminal rendering: a 28-row framed digit, ten bars, the guess, the label and
#    CORRECT/INCORRECT;
#  - --png writes a 900x460 PNG (signature and IHDR checked); --random K with a %d pattern
#    writes K files;
#  - --interactive answers good indices, rejects bad entries with a message and asks
#    again, and ends cleanly at end of input;
#  - forward prints tutorial 002's x, h, ha, y, ya;
#  - a CSV made from MNIST test images trains, evaluates and predicts; an unlabelled one
#    gets --predictions in Kaggle's submission format;
#  - an image far wider than cairo's surfaces (1x40000) is drawn, sampled down;
#  - --png onto a missing folder or a device is refused before any work;
#  - bad requests get their exit codes.
# usage: predict.sh PATH/TO/mnistcl PATH/TO/data/mnist
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"

"$bin" train --preset simple-nn --device cpu --train-limit 6000 --save "$tmp/m.safetensors" \
    >"$tmp/train.log" 2>&1 || { cat "$tmp/train.log"; echo "FAIL: training"; exit 1; }

# one image in the terminal
out=$("$bin" predict --model "$tmp/m.safetensors" --index 0 --png "$tmp/p.png" 2>&1) || fail "predict --index 0"
[ "$(grep -c '^  │.*│$' <<<"$out")" -eq 28 ] && ok "28 framed rows of the digit" || fail "digit rows"
grep -q '█' <<<"$out" && ok "shaded pixels" || fail "no shading"
[ "$(grep -cE '^ +[0-9] │' <<<"$out")" -eq 10 ] && ok "ten output bars" || fail "bars"
grep -qE '^  guessed digit [0-9], label 7: (CORRECT|INCORRECT)$' <<<"$out" && ok "guess, label, verdict" ||
    fail "verdict line"
head -c 8 "$tmp/p.png" | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a' && ok "PNG signature" || fail "not a PNG"
dims=$(od -An -tu1 -j16 -N8 "$tmp/p.png" | tr -s ' ')
[ "$dims" = " 0 0 3 132 0 0 1 204" ] && ok "PNG is 900x460" || fail "PNG size bytes:$dims"
"$bin" predict --model "$tmp/m.safetensors" --random 3 --seed 5 --png "$tmp/r-%d.png" >/dev/null ||
    fail "predict --random"
[ "$(ls "$tmp"/r-*.png 2>/dev/null | wc -l)" -eq 3 ] && ok "--random 3 wrote 3 PNGs" || fail "random PNGs"

# the interactive loop, bad entries included
out=$(printf '3\nseven\n-1\n10000\n\n 42 \n1e3\n' | "$bin" predict --model "$tmp/m.safetensors" --interactive 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "interactive ends at end of input with 0" || fail "interactive exit $rc"
[ "$(grep -c 'is not an index between 0 and 9999; try again' <<<"$out")" -eq 4 ] &&
    ok "4 bad entries rejected" || fail "bad entries: $(grep -c 'try again' <<<"$out")"
grep -q 'test image 3, label 0' <<<"$out" && grep -q 'test image 42, label 4' <<<"$out" &&
    ok "indices 3 and 42 shown" || fail "good entries"
[ "$(grep -o 'Enter an image index between 0 and 9999' <<<"$out" | wc -l)" -eq 8 ] &&
    ok "asked 8 times (7 lines, then end of input)" || fail "prompts"

# forward: every intermediate
out=$("$bin" forward --model "$tmp/m.safetensors" --index 3 2>&1) || fail "forward"
for name in 'x    = pixels / 255' 'h    = x·W0 + b0' 'ha   = sigmoid(h)' 'y    = ha·W1 + b1' \
    'ya   = softmax(y)'; do
    grep -qF "$name" <<<"$out" || fail "forward lacks '$name'"
done
ok "forward prints x, h, ha, y, ya"

# untrained accuracy (tutorial 002 shows it first)
out=$("$bin" eval --untrained --preset simple-nn --device cpu 2>&1) || fail "eval --untrained"
grep -qE '^test accuracy [0-9.]+% \([0-9]+/10000\)' <<<"$out" && ok "eval --untrained" ||
    fail "eval --untrained output"

# CSV made from MNIST test images: labelled for training/eval, unlabelled for predictions
{
    printf 'label'; for j in $(seq 0 783); do printf ',pixel%d' "$j"; done; printf '\n'
    paste -d, <(od -An -v -tu1 -w1 -j8 "$data/t10k-labels-idx1-ubyte" | head -n 2000 | tr -d ' ') \
              <(od -An -v -tu1 -w784 -j16 "$data/t10k-images-idx3-ubyte" | head -n 2000 |
                sed 's/^ *//; s/ \+/,/g')
} >"$tmp/train.csv"
{
    printf 'pixel0'; for j in $(seq 1 783); do printf ',pixel%d' "$j"; done; printf '\n'
    od -An -v -tu1 -w784 -j16 "$data/t10k-images-idx3-ubyte" | sed -n '2001,2500p' |
        sed 's/^ *//; s/ \+/,/g'
} >"$tmp/test.csv"
out=$("$bin" train --device cpu --hidden 32 --epochs 2 --train-csv "$tmp/train.csv" \
    --test-csv "$tmp/test.csv" --predictions "$tmp/pred.csv" --save "$tmp/c.safetensors" 2>&1) ||
    fail "training on CSV: $out"
grep -q 'data: .*train.csv, 2000 training and 500 test images' <<<"$out" && ok "CSV training set read" ||
    fail "CSV sizes"
[ "$(head -n 1 "$tmp/pred.csv")" = "ImageId,Label" ] && [ "$(wc -l <"$tmp/pred.csv")" -eq 501 ] &&
    ok "predictions: header + 500 rows" || fail "predictions file"
out=$("$bin" eval --model "$tmp/c.safetensors" --csv "$tmp/train.csv" --device cpu 2>&1) ||
    fail "eval --csv"
grep -qE 'train.csv accuracy [0-9.]+% \([0-9]+/2000\)' <<<"$out" && ok "eval --csv" || fail "eval --csv: $out"
"$bin" predict --model "$tmp/c.safetensors" --csv "$tmp/test.csv" --index 7 >"$tmp/o" 2>&1 &&
    grep -q '(the set has no labels)' "$tmp/o" && ok "predict on unlabelled CSV" || fail "predict --csv"

# a 1x40000 image: sampled down to fit, not written through a failed cairo surface
mkdir "$tmp/wide"
for p in train t10k; do
    { printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x9c\x40'
      head -c 80000 /dev/urandom; } >"$tmp/wide/$p-images-idx3-ubyte"
    printf '\x00\x00\x08\x01\x00\x00\x00\x02\x03\x07' >"$tmp/wide/$p-labels-idx1-ubyte"
done
"$bin" train --device cpu --data "$tmp/wide" --layers 40000,10 --batch 2 --epochs 1 \
    --save "$tmp/wide/m.st" >/dev/null 2>&1 || fail "training on 1x40000 images"
expect 0 "wrote $tmp/wide/w.png" "$bin" predict --model "$tmp/wide/m.st" --data "$tmp/wide" --index 1 --png "$tmp/wide/w.png"
[ "$(head -c 8 "$tmp/wide/w.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] &&
    ok "the wide image's figure is a PNG" || fail "no PNG for the wide image"
expect 4 "--png $tmp/nodir/x.png: the folder" "$bin" predict --model "$tmp/m.safetensors" --index 1 --png "$tmp/nodir/x.png"
expect 4 "--png /dev/null: is not a regular file" "$bin" predict --model "$tmp/m.safetensors" --index 1 --png /dev/null

# bad requests
expect 2 "--index 10000: the test set has images 0 to 9999" "$bin" predict --model "$tmp/m.safetensors" --index 10000
expect 2 "exactly one of" "$bin" predict --model "$tmp/m.safetensors"
expect 2 "exactly one of" "$bin" predict --model "$tmp/m.safetensors" --index 1 --random 2
expect 2 "needs --model" "$bin" predict --index 1
expect 2 "--preset 'botacademi': unknown" "$bin" train --preset botacademi
expect 3 "has no label column" "$bin" train --train-csv "$tmp/test.csv" --device cpu
expect 4 "nope.csv: cannot open" "$bin" train --train-csv "$tmp/nope.csv"

finish

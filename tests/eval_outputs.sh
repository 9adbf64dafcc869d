#!/usr/bin/env bash
# A saved model used without retraining (on the CPU reference, so it runs anywhere):
#  1. `eval --predictions` writes exactly the file `train --predictions` wrote (the same
#     network, the same test set), and --probabilities one row of output values per image
#     whose argmax is that prediction and whose rows sum to 1 (softmax);
#  2. on an unlabelled Kaggle test CSV: the predictions, no accuracy, exit 0;
#  3. eval and predict take the dataset the model records (a model whose metadata says
#     fashion reads Fashion-MNIST's folder) unless --dataset or --data say otherwise;
#  4. --predictions / --probabilities that name one file, or the model, are refused
#     before any work, the model untouched.
# usage: eval_outputs.sh PATH/TO/mnistcl PATH/TO/st_meta_set DATA_DIR
set -u
bin=$1 meta_set=$2 data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
dev=(--device cpu --data "$data")

"$bin" train "${dev[@]}" --epochs 1 --train-limit 3000 --save "$tmp/m.st" \
    --predictions "$tmp/train.csv" >"$tmp/train.log" 2>&1 || { cat "$tmp/train.log"; exit 1; }
expect 0 "wrote 10000 predictions" "$bin" eval "${dev[@]}" --model "$tmp/m.st" \
    --predictions "$tmp/eval.csv" --probabilities "$tmp/probs.csv"
if cmp -s "$tmp/train.csv" "$tmp/eval.csv"; then
    ok "eval --predictions equals train --predictions ($(wc -l <"$tmp/eval.csv") lines)"
else
    fail "eval --predictions differs from train --predictions"
fi
awk -F, 'NR == FNR { if (FNR > 1) label[$1] = $2; next }
         FNR == 1 { if ($0 != "ImageId,0,1,2,3,4,5,6,7,8,9") bad = "header " $0; next }
         { best = 2; sum = 0
           for (i = 2; i <= NF; i++) { sum += $i; if ($i > $best) best = i }
           if (best - 2 != label[$1]) bad = "row " $1 ": argmax " best - 2 " vs " label[$1]
           if (sum < 0.9999 || sum > 1.0001) bad = "row " $1 " sums to " sum
           rows++ }
         END { if (rows != 10000) bad = bad " rows " rows; print bad; exit bad != "" }' \
    "$tmp/eval.csv" "$tmp/probs.csv" >"$tmp/check" && ok "probabilities: 10000 rows, argmax = prediction, sum 1" ||
    fail "probabilities: $(cat "$tmp/check")"

# 2. an unlabelled Kaggle CSV: the first 5 test images
{
    printf 'pixel%d,' $(seq 0 782)
    echo pixel783
    od -An -v -tu1 -w784 -j16 -N$((784 * 5)) "$data/t10k-images-idx3-ubyte" |
        sed 's/^ *//; s/  */,/g'
} >"$tmp/kaggle.csv"
expect 0 "wrote 5 predictions" "$bin" eval --device cpu --model "$tmp/m.st" \
    --csv "$tmp/kaggle.csv" --predictions "$tmp/kaggle_pred.csv"
if diff <(sed -n 2,6p "$tmp/eval.csv") <(sed -n 2,6p "$tmp/kaggle_pred.csv") >/dev/null; then
    ok "unlabelled CSV: the same 5 predictions as the test set's first 5"
else
    fail "unlabelled CSV predictions differ: $(cat "$tmp/kaggle_pred.csv" | tr '\n' ' ')"
fi
expect_message 3 "has no labels to evaluate against" "$bin" eval --device cpu \
    --model "$tmp/m.st" --csv "$tmp/kaggle.csv"

# 3. the model's dataset
cp "$tmp/m.st" "$tmp/f.st"
"$meta_set" "$tmp/f.st" dataset fashion
if [ -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] ||
    [ -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte ]; then
    want=(0 "test accuracy") # Fashion-MNIST is installed: it is read
else
    want=(4 "fashion-mnist/t10k-images-idx3-ubyte: not found")
fi
expect "${want[@]}" "$bin" eval --device cpu --model "$tmp/f.st"
expect 0 "test accuracy" "$bin" eval --device cpu --model "$tmp/f.st" --dataset mnist --data "$data"
[ "${want[0]}" = 0 ] && want=(0 "guessed")
expect "${want[@]}" "$bin" predict --model "$tmp/f.st" --index 0
expect 0 "guessed digit" "$bin" predict --model "$tmp/f.st" --index 0 --data "$data"

# 4. outputs checked first
before=$(cksum <"$tmp/m.st")
expect_message 2 "name the same file" "$bin" eval --device cpu --model "$tmp/m.st" \
    --predictions "$tmp/x.csv" --probabilities "$tmp/./x.csv"
expect_message 2 "would overwrite the --model input" "$bin" eval --device cpu \
    --model "$tmp/m.st" --predictions "$tmp/m.st"
[ "$(cksum <"$tmp/m.st")" = "$before" ] && ok "the model is untouched" || fail "the model changed"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]

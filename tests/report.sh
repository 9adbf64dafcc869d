#!/usr/bin/env bash
# `mnistcl report` end to end on the CPU reference (so it runs anywhere):
#  1. a small model and its training log (`train --log` when this mnistcl has it, and
#     hand-written logs in both forms, CSV and JSON Lines, with reordered, unknown and
#     empty fields): every figure is a PNG of the size report_figures.h documents;
#  2. confusion.csv counts the 10000 test images and its diagonal is the number right
#     that `eval` reports; per_class.csv's precision, recall, F1 and support follow from
#     it; the printed accuracy is eval's;
#  3. index.html links every figure, has the per-class table and the metadata, escapes
#     the model's name; without --log it draws no learning curves and says why (and an
#     earlier report's curves are removed);
#  4. Fashion-MNIST's class names for a fashion model, a labelled Kaggle CSV as the set,
#     --mistakes;
#  5. errors before any work: options, a missing model, malformed logs (file and line),
#     --out naming a regular file. A build without cairo must say report is unavailable.
# usage: report.sh PATH/TO/mnistcl DATA_DIR
set -u
bin=$1 data=$2
here=$(cd "$(dirname "$0")" && pwd)
header="$here/../host/cli/report_figures.h"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$here/lib.sh"
dev=(--device cpu --data "$data")

# a build without cairo: the command says so (exit 1), nothing else to check
if ! out=$("$bin" report --model "$tmp/none.st" --out "$tmp/r" 2>&1) &&
    grep -q "built without cairo" <<<"$out"; then
    expect_message 1 "report: this mnistcl was built without cairo" "$bin" report \
        --model "$tmp/none.st" --out "$tmp/r"
    finish
fi

# the documented sizes, read from the header the figures are drawn with
size() { sed -n "s/^#define $1 \([0-9]*\).*/\1/p" "$header"; }
for name in CURVES_W CURVES_H CONFUSION_W CONFUSION_H PER_CLASS_W PER_CLASS_H GALLERY_W \
    MISTAKES_PER_ROW MISTAKES_TOP MISTAKES_ROW_H MISTAKES_BOTTOM WEIGHTS_PER_ROW WEIGHTS_MAX \
    WEIGHTS_TOP WEIGHTS_ROW_H WEIGHTS_BOTTOM; do
    value=$(size "REPORT_$name")
    [ -n "$value" ] || { echo "FAIL: REPORT_$name not found in $header"; exit 1; }
    declare "$name=$value"
done
mistakes_h() { # mistakes.png's height for N shown
    local rows=$((($1 + MISTAKES_PER_ROW - 1) / MISTAKES_PER_ROW))
    [ "$rows" -gt 0 ] || rows=1
    echo $((MISTAKES_TOP + rows * MISTAKES_ROW_H + MISTAKES_BOTTOM))
}
weights_h() { echo $((WEIGHTS_TOP + ($1 + WEIGHTS_PER_ROW - 1) / WEIGHTS_PER_ROW * WEIGHTS_ROW_H + WEIGHTS_BOTTOM)); }

# png_is FILE W H: FILE is a PNG whose IHDR says W x H
png_is() {
    local sig dims
    sig=$(od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' \n')
    dims=$(od -An -tu1 -j16 -N8 "$1" 2>/dev/null |
        awk '{ print ($1 * 16777216 + $2 * 65536 + $3 * 256 + $4) "x" ($5 * 16777216 + $6 * 65536 + $7 * 256 + $8) }')
    if [ "$sig" = 89504e470d0a1a0a ] && [ "$dims" = "$2x$3" ]; then
        ok "${1##*/} is a $dims PNG"
    else
        fail "${1##*/}: want a $2x$3 PNG, found signature '$sig' size '$dims'"
    fi
}

# 1. the model, and its log from `train --log` when there is one
log_flag=()
if "$bin" train --help | grep -q -- '--log FILE'; then
    log_flag=(--log "$tmp/train_log.csv")
fi
"$bin" train "${dev[@]}" --epochs 2 --train-limit 5000 --val 1000 --save "$tmp/m.st" \
    "${log_flag[@]}" >"$tmp/train.out" 2>&1 || { cat "$tmp/train.out"; exit 1; }
right=$("$bin" eval "${dev[@]}" --model "$tmp/m.st" | sed -n 's/^test accuracy .*(\([0-9]*\)\/10000).*/\1/p')
[ -n "$right" ] || { echo "FAIL: eval printed no test accuracy"; exit 1; }
# the first 100 test images as a labelled Kaggle CSV: the set of the runs that check
# something else than the numbers (fast under the sanitizers too)
{
    echo "label,$(printf 'pixel%d,' $(seq 0 782))pixel783"
    paste -d, <(od -An -v -tu1 -w1 -j8 -N100 "$data/t10k-labels-idx1-ubyte" | tr -d ' ') \
        <(od -An -v -tu1 -w784 -j16 -N$((784 * 100)) "$data/t10k-images-idx3-ubyte" |
            sed 's/^ *//; s/  */,/g')
} >"$tmp/kaggle.csv"
# a hand-written CSV log: columns out of order, one unknown, the test set measured at the end
cat >"$tmp/hand.csv" <<'EOF'
epoch,lr,train_loss,train_accuracy,extra_column,val_loss,val_accuracy,test_accuracy,test_loss,seconds,images_per_s,steps
1,0.05,0.52,0.851,x,0.35,0.90,,,0.5,10000,40
2,0.05,0.31,0.912,y,0.30,0.915,0.9032,0.3294,0.5,10000,40
EOF
log=${log_flag[1]:-$tmp/hand.csv}
[ ${#log_flag[@]} -gt 0 ] && ok "train --log wrote $(($(wc -l <"$log") - 1)) records" ||
    echo "note: this mnistcl has no train --log; using a hand-written log"

expect 0 "^accuracy [0-9.]+% \($right/10000\) on the mnist test set" "$bin" report \
    "${dev[@]}" --model "$tmp/m.st" --log "$log" --out "$tmp/r/deep"
r=$tmp/r/deep
png_is "$r/learning_curves.png" "$CURVES_W" "$CURVES_H"
png_is "$r/confusion.png" "$CONFUSION_W" "$CONFUSION_H"
png_is "$r/per_class.png" "$PER_CLASS_W" "$PER_CLASS_H"
png_is "$r/mistakes.png" "$GALLERY_W" "$(mistakes_h 24)"
png_is "$r/weights.png" "$GALLERY_W" "$(weights_h "$WEIGHTS_MAX")" # 128 hidden units: 100 shown

# 2. the numbers behind the figures
awk -F, -v right="$right" 'NR == 1 { if (NF != 11 || $2 != "0" || $11 != "9") bad = "header " $0; next }
     { for (c = 2; c <= NF; c++) { sum += $c; if (c - 2 == NR - 2) diag += $c } }
     END { if (NR != 11) bad = bad " rows " NR - 1
           if (sum != 10000) bad = bad " sum " sum
           if (diag != right) bad = bad " diagonal " diag " vs eval " right
           print bad; exit bad != "" }' "$r/confusion.csv" >"$tmp/check" &&
    ok "confusion.csv: 10x10, sums to 10000, diagonal $right = eval's" ||
    fail "confusion.csv: $(cat "$tmp/check")"
awk -F, 'function off(a, b) { return a - b > 1e-6 || b - a > 1e-6 }
     NR == FNR { if (FNR > 1) for (c = 2; c <= NF; c++) { m[FNR - 2, c - 2] = $c
                                                         row[FNR - 2] += $c; col[c - 2] += $c }
                 next }
     FNR == 1 { if ($0 != "class,precision,recall,f1,support,predicted") bad = "header " $0; next }
     { k = FNR - 2; tp = m[k, k]
       if (off($2, tp / col[k]) || off($3, tp / row[k]) || $5 != row[k] || $6 != col[k] ||
           off($4, 2 * $2 * $3 / ($2 + $3))) bad = bad " class " $1 ": " $0
       n++ }
     END { if (n != 10) bad = bad " rows " n; print bad; exit bad != "" }' \
    "$r/confusion.csv" "$r/per_class.csv" >"$tmp/check" &&
    ok "per_class.csv: precision, recall, F1, support agree with confusion.csv" ||
    fail "per_class.csv: $(cat "$tmp/check")"

# 3. the page
missing=""
for f in learning_curves.png confusion.png per_class.png mistakes.png weights.png; do
    grep -q "<img src=\"$f\" width=\"[0-9]*\" height=\"[0-9]*\"" "$r/index.html" || missing="$missing $f"
done
[ -z "$missing" ] && ok "index.html shows every figure" || fail "index.html lacks$missing"
rows=$(grep -c '^<tr><td>[0-9]</td><td class="num">' "$r/index.html")
if grep -q '<table class="classes">' "$r/index.html" && [ "$rows" -eq 10 ] &&
    grep -q "($right/10000)" "$r/index.html" && grep -q '<td>trained_on</td>' "$r/index.html"; then
    ok "index.html: per-class table (10 rows), accuracy $right/10000, metadata table"
else
    fail "index.html: per-class rows $rows, or no accuracy $right/10000 or metadata"
fi
cp "$tmp/m.st" "$tmp/a&b<c>.st"
expect 0 "wrote $tmp/r/deep" "$bin" report --device cpu --model "$tmp/a&b<c>.st" \
    --csv "$tmp/kaggle.csv" --out "$r"
if grep -q 'Report on a&amp;b&lt;c&gt;.st' "$r/index.html" && ! grep -q 'a&b<c>' "$r/index.html"; then
    ok "index.html escapes the model's name"
else
    fail "index.html does not escape the model's name"
fi
if [ ! -e "$r/learning_curves.png" ] && grep -q "No learning curves: no training log was given" "$r/index.html" &&
    ! grep -q 'src="learning_curves.png"' "$r/index.html"; then
    ok "without --log: no learning_curves.png (the earlier one removed), and the page says why"
else
    fail "without --log: learning_curves.png is there or the page does not say why"
fi

# the other log form, and hand-written records in both: reordered, unknown, empty, null
cat >"$tmp/hand.jsonl" <<'EOF'
{"epoch": 1, "steps": 40, "lr": 0.05, "train_loss": 0.52, "train_accuracy": 0.851, "val_loss": null, "val_accuracy": null, "test_loss": null, "test_accuracy": null, "seconds": 0.5, "images_per_s": 10000, "note": {"a": [1, "x"]}}

{"test_accuracy": 0.9032, "epoch": 2, "train_loss": 0.31, "train_accuracy": 0.912, "test_loss": 0.3294}
EOF
for hand in "$tmp/hand.jsonl" "$tmp/hand.csv"; do
    rm -rf "$tmp/h"
    expect 0 "learning_curves.png" "$bin" report --device cpu --model "$tmp/m.st" --log "$hand" \
        --csv "$tmp/kaggle.csv" --out "$tmp/h"
    png_is "$tmp/h/learning_curves.png" "$CURVES_W" "$CURVES_H"
done

# 4. Fashion-MNIST's names (MNIST's images stand in for its own)
expect 0 "^Ankle boot +[0-9.na/]+ " "$bin" report --device cpu --model "$tmp/m.st" \
    --dataset fashion --csv "$tmp/kaggle.csv" --out "$tmp/f" --mistakes 5
if head -n 1 "$tmp/f/confusion.csv" | grep -q '^true\\predicted,T-shirt/top,Trouser,.*,Bag,Ankle boot$' &&
    grep -q '^T-shirt/top,' "$tmp/f/per_class.csv"; then
    ok "fashion: the classes' names in confusion.csv and per_class.csv"
else
    fail "fashion: names missing: $(head -n 1 "$tmp/f/confusion.csv")"
fi
wrong=$(awk -F, 'NR > 1 { for (c = 2; c <= NF; c++) if (c != NR) w += $c } END { print w + 0 }' \
    "$tmp/f/confusion.csv")
png_is "$tmp/f/mistakes.png" "$GALLERY_W" "$(mistakes_h $((wrong < 5 ? wrong : 5)))"
# a labelled Kaggle CSV as the set, and no mistakes shown
expect 0 "\(([0-9]+)/100\) on $tmp/kaggle.csv" "$bin" report --device cpu --model "$tmp/m.st" \
    --csv "$tmp/kaggle.csv" --out "$tmp/k" --mistakes 0
sum=$(awk -F, 'NR > 1 { for (c = 2; c <= NF; c++) s += $c } END { print s }' "$tmp/k/confusion.csv")
[ "$sum" = 100 ] && ok "--csv: confusion.csv counts its 100 images" || fail "--csv: confusion.csv sums to $sum"
png_is "$tmp/k/mistakes.png" "$GALLERY_W" "$(mistakes_h 0)"

# 5. errors, before any work
expect_message 2 "report needs --model FILE and --out DIR" "$bin" report --out "$tmp/e"
expect_message 2 "report needs --model FILE and --out DIR" "$bin" report --model "$tmp/m.st"
expect_message 2 "--mistakes 5000: must be between 0 and 1000" "$bin" report --model "$tmp/m.st" \
    --out "$tmp/e" --mistakes 5000
expect_message 2 "--dataset 'digits': expected mnist or fashion" "$bin" report \
    --model "$tmp/m.st" --out "$tmp/e" --dataset digits
expect_message 4 "$tmp/none.st: cannot open" "$bin" report "${dev[@]}" --model "$tmp/none.st" \
    --out "$tmp/e"
[ ! -e "$tmp/e" ] && ok "no folder made for a report that failed" || fail "$tmp/e was made"
printf 'epoch,train_loss,train_accuracy\n1,0.5,0.8\n2,0.4,eighty\n' >"$tmp/bad.csv"
expect_message 3 "bad.csv:3: train_accuracy 'eighty' is not a number" "$bin" report "${dev[@]}" \
    --model "$tmp/m.st" --log "$tmp/bad.csv" --out "$tmp/e"
printf 'epoch,train_accuracy\n1,85.1\n' >"$tmp/pct.csv"
expect_message 3 "pct.csv:2: train_accuracy 85.1: expected a fraction 0..1" "$bin" report \
    "${dev[@]}" --model "$tmp/m.st" --log "$tmp/pct.csv" --out "$tmp/e"
printf 'epoch,train_loss\n1,0.5,0.1\n' >"$tmp/wide.csv"
expect_message 3 "wide.csv:2: more fields than the header's 2 columns" "$bin" report \
    "${dev[@]}" --model "$tmp/m.st" --log "$tmp/wide.csv" --out "$tmp/e"
printf '{"epoch": 1}\n{"epoch": 2, "train_loss": 0.4\n' >"$tmp/bad.jsonl"
expect_message 3 "bad.jsonl:2: malformed JSON" "$bin" report "${dev[@]}" --model "$tmp/m.st" \
    --log "$tmp/bad.jsonl" --out "$tmp/e"
printf '{"train_loss": 0.4}\n' >"$tmp/noepoch.jsonl"
expect_message 3 "noepoch.jsonl:1: no \"epoch\" key" "$bin" report "${dev[@]}" \
    --model "$tmp/m.st" --log "$tmp/noepoch.jsonl" --out "$tmp/e"
[ ! -e "$tmp/e" ] && ok "no folder made for a bad log" || fail "$tmp/e was made for a bad log"
: >"$tmp/regular"
expect_message 4 "--out $tmp/regular: exists and is not a folder" "$bin" report "${dev[@]}" \
    --model "$tmp/m.st" --out "$tmp/regular"
expect_message 4 "--out $tmp/regular/sub: $tmp/regular exists and is not a folder" "$bin" \
    report "${dev[@]}" --model "$tmp/m.st" --out "$tmp/regular/sub"
mkdir "$tmp/o" && cp "$tmp/hand.csv" "$tmp/o/per_class.csv"
expect_message 2 "--out $tmp/o/per_class.csv would overwrite the --log input file" "$bin" \
    report "${dev[@]}" --model "$tmp/m.st" --log "$tmp/o/per_class.csv" --out "$tmp/o"
cmp -s "$tmp/hand.csv" "$tmp/o/per_class.csv" && ok "the log is untouched" || fail "the log changed"
finish

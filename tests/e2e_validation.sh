#!/usr/bin/env bash
# Validation, early stopping and the best weights, end to end on the real MNIST:
#  1. `--train-limit 5000 --val 1000 --epochs 4 --early-stop 1 --save`: the data line says
#     4000 training and 1000 validation images; the table has the val_loss and val%
#     columns and every epoch line 8 numbers; the saved model's metadata names as
#     best_epoch the epoch of the lowest val_loss printed (the first of equals), with its
#     val_loss, val_images and epochs_trained; the final line is the test accuracy of those
#     weights, which `eval --model` reproduces; early stopping, when it happened, came
#     right after its patience ran out;
#  2. the same with --lr 0.5, which stops early after epoch 2 (no lower loss than epoch
#     1's): the early-stop line, two epoch lines, best_epoch 1 and early_stop metadata;
#  3. the test set decides nothing: run 1 again with a test set of random images and
#     labels (--test-csv); the saved weights are bit for bit the same, and so is every
#     column but test%;
#  4. without --val the table is as it always was (6 columns).
# usage: e2e_validation.sh PATH/TO/mnistcl PATH/TO/model_diff [DEVICE]   (DEVICE: cpu)
set -u
bin=$1
diff_tool=$2
dev=${3:-cpu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
[ "$dev" = cpu ] || require_opencl "$bin"

# meta FILE KEY: the value of KEY in a safetensors file's JSON header
meta() {
    head -c 16384 "$1" | tr -d '\000' | grep -ao "\"$2\":\"[^\"]*\"" | head -n 1 | sed 's/.*":"//; s/"$//'
}
# epoch_lines LOG: the table's rows
epoch_lines() { grep -E '^ +[0-9]+ ' "$1"; }

run=(train --device "$dev" --train-limit 5000 --val 1000 --epochs 4 --early-stop 1)
"$bin" "${run[@]}" --save "$tmp/a.st" >"$tmp/a.log" 2>&1 || { fail "run 1: $(tail -n 5 "$tmp/a.log")"; finish; }

# ---- 1. columns, metadata, the final line -----------------------------------------------
grep -q "^data: mnist, 4000 training, 1000 validation and 10000 test images" "$tmp/a.log" &&
    ok "4000 training and 1000 validation images" || fail "data line: $(grep '^data' "$tmp/a.log")"
grep -Eq "^epoch +loss +train% +val_loss +val% +test% +seconds +images/s$" "$tmp/a.log" &&
    ok "the header has the val_loss and val% columns" || fail "header: $(grep '^epoch' "$tmp/a.log")"
rows=$(epoch_lines "$tmp/a.log" | wc -l)
bad_rows=$(epoch_lines "$tmp/a.log" | awk 'NF != 8 || $4 !~ /^[0-9]+\.[0-9][0-9][0-9][0-9]$/ || $5 !~ /^[0-9]+\.[0-9][0-9]$/' | wc -l)
[ "$rows" -ge 1 ] && [ "$bad_rows" -eq 0 ] && ok "$rows epoch lines of 8 numbers" ||
    { fail "epoch lines:"; epoch_lines "$tmp/a.log" | sed 's/^/    /'; }
# the lowest val_loss printed (strictly lower wins: the first of equals)
read -r best best_loss <<<"$(epoch_lines "$tmp/a.log" | awk 'NR == 1 || $4 < m { m = $4; e = $1 } END { print e, m }')"
got=$(meta "$tmp/a.st" best_epoch)
[ "$got" = "$best" ] && ok "metadata best_epoch $got: the epoch of the lowest val_loss ($best_loss)" ||
    fail "metadata best_epoch '$got', lowest val_loss printed in epoch $best"
vl=$(meta "$tmp/a.st" val_loss)
awk -v a="$vl" -v b="$best_loss" 'BEGIN { d = a - b; exit !(d < 0.00005 && d > -0.00005) }' &&
    [ "$(meta "$tmp/a.st" val_images)" = 1000 ] && [ "$(meta "$tmp/a.st" epochs_trained)" = "$rows" ] &&
    ok "metadata val_loss $vl, val_images 1000, epochs_trained $rows" ||
    fail "metadata val_loss '$vl' (printed $best_loss), val_images '$(meta "$tmp/a.st" val_images)', epochs_trained '$(meta "$tmp/a.st" epochs_trained)'"
acc=$(sed -n "s/^test accuracy \([0-9.]*\)% ([0-9]*\/10000) of the weights of epoch $best, the lowest validation loss$/\1/p" "$tmp/a.log")
[ -n "$acc" ] && ok "the final line: test accuracy $acc% of epoch $best's weights" ||
    fail "final line: $(grep '^test accuracy' "$tmp/a.log")"
grep -q "^saved $tmp/a.st (the weights of epoch $best, the lowest validation loss)" "$tmp/a.log" &&
    ok "says which epoch it saved" || fail "saved line: $(grep '^saved' "$tmp/a.log")"
"$bin" eval --device "$dev" --model "$tmp/a.st" >"$tmp/eval.log" 2>&1
grep -q "^test accuracy $acc%" "$tmp/eval.log" && [ "$(meta "$tmp/a.st" test_accuracy)" = "$(printf '%.4f' "$acc")" ] &&
    ok "eval --model reproduces $acc%: the saved weights are the ones tested" ||
    fail "eval: $(grep '^test accuracy' "$tmp/eval.log"), metadata test_accuracy $(meta "$tmp/a.st" test_accuracy)"
grep -q "^early stop after 1 epoch without a lower validation loss$" "$tmp/a.log" &&
    ok "the header says when it stops early" || fail "no early-stop line before the table"
if grep -q "^early stop after epoch" "$tmp/a.log"; then
    [ "$rows" -eq $((best + 1)) ] && ok "stopped early after epoch $rows, one past the best" ||
        fail "stopped after epoch $rows with the best in epoch $best (patience 1)"
else
    [ "$rows" -eq 4 ] && ok "no early stop: all 4 epochs" || fail "$rows epochs without an early stop"
fi

# ---- 2. an early stop --------------------------------------------------------------------
"$bin" "${run[@]}" --lr 0.5 --save "$tmp/s.st" >"$tmp/s.log" 2>&1 || fail "run 2: $(tail -n 5 "$tmp/s.log")"
grep -q "^early stop after epoch 2: no lower validation loss for 1 epoch; the best was epoch 1 " "$tmp/s.log" &&
    [ "$(epoch_lines "$tmp/s.log" | wc -l)" -eq 2 ] && [ "$(meta "$tmp/s.st" best_epoch)" = 1 ] &&
    [ "$(meta "$tmp/s.st" early_stop)" = "after epoch 2: no lower validation loss for 1 epoch" ] &&
    ok "--lr 0.5: stopped early after epoch 2, epoch 1's weights saved" ||
    { fail "run 2 (--lr 0.5):"; sed 's/^/    /' "$tmp/s.log" | tail -n 6; }

# ---- 3. the test set decides nothing -------------------------------------------------------
awk 'BEGIN { srand(7); printf "label"; for (i = 0; i < 784; i++) printf ",pixel%d", i; print "";
             for (r = 0; r < 300; r++) { printf "%d", int(rand() * 10);
                 for (i = 0; i < 784; i++) printf ",%d", int(rand() * 256); print "" } }' >"$tmp/noise.csv"
"$bin" "${run[@]}" --test-csv "$tmp/noise.csv" --save "$tmp/b.st" >"$tmp/b.log" 2>&1 ||
    fail "run with a random test set: $(tail -n 5 "$tmp/b.log")"
"$diff_tool" "$tmp/a.st" "$tmp/b.st" >/dev/null && [ "$(meta "$tmp/b.st" best_epoch)" = "$best" ] &&
    ok "a random test set: the same best epoch and, bit for bit, the same saved weights" ||
    fail "the saved weights or best epoch changed with the test set ($(meta "$tmp/b.st" best_epoch))"
cols() { epoch_lines "$1" | awk '{ print $1, $2, $3, $4, $5 }'; }
[ "$(cols "$tmp/a.log")" = "$(cols "$tmp/b.log")" ] &&
    [ "$(epoch_lines "$tmp/a.log" | awk '{ print $6 }')" != "$(epoch_lines "$tmp/b.log" | awk '{ print $6 }')" ] &&
    ok "every column but test% is the same" || { fail "columns:"; paste "$tmp/a.log" "$tmp/b.log" | tail -n 8; }

# ---- 4. without --val, the table is unchanged -----------------------------------------------
"$bin" train --device "$dev" --train-limit 2000 --epochs 1 >"$tmp/plain.log" 2>&1
grep -Eq "^epoch +loss +train% +test% +seconds +images/s$" "$tmp/plain.log" &&
    [ "$(epoch_lines "$tmp/plain.log" | awk '{ print NF }')" = 6 ] &&
    grep -Eq "^test accuracy [0-9.]+% \([0-9]+/10000\)$" "$tmp/plain.log" &&
    grep -q "^data: mnist, 2000 training and 10000 test images" "$tmp/plain.log" &&
    ok "without --val: 6 columns, the usual lines" || { fail "without --val:"; sed 's/^/    /' "$tmp/plain.log"; }
finish

#!/usr/bin/env bash
# `train --log`, `--progress` and `--quiet`, on the CPU reference (small runs):
#  1. CSV with --val, --print-every 2 and a step schedule: the header; one record per
#     epoch 1..5 whatever --print-every says; steps = epoch x steps per epoch; lr as the
#     schedule gives it at the epoch's last step; on the epochs the table shows, every
#     field as the epoch line prints it (%.4f of the losses, %.2f of 100 x the accuracies,
#     %.3f of the seconds, %.0f of images/s); on the others the test fields empty;
#  2. the same run as JSON Lines: the keys in order, null for the test set where not
#     measured, the same values as the CSV's (valid JSON where python3 is there); and a
#     test set without labels (--test-csv): test_loss and test_accuracy null every epoch;
#  3. a resumed run's log reads as one run: train --epochs 2 --checkpoint --log, keep that
#     checkpoint, go on to epoch 3 on the same log, then resume the kept checkpoint with
#     --epochs 4: records 1..4 once each, 1 and 2 byte for byte the first run's, the
#     header once, and every value but the times as an uninterrupted 4-epoch run's;
#  4. --quiet: nothing at all on stdout, exit 0, the log and the model still written;
#     errors still on stderr with their exit code;
#  5. --progress on: progress lines (\r, the line, ESC[K) with the epoch, the steps, loss,
#     accuracy, images/s and ETA, erased before each epoch line; the epoch lines as with
#     --progress off; without --progress, on a file, no escape and no \r at all; on a
#     terminal (script(1), where installed) the line, but not with TERM=dumb;
#  6. bad --log paths and values fail before training with one clear message: a missing
#     folder, a folder, the same file as --save or --checkpoint, an input file, a --resume
#     log that is not a log (left untouched), --progress sideways;
#  7. a write that fails mid-run (a file size limit) is one warning; training goes on to
#     its end (exit 0) and the log keeps the whole records written before.
# usage: train_log.sh PATH/TO/mnistcl
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"

header='epoch,steps,lr,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,seconds,images_per_s'
small=(train --device cpu --train-limit 3000 --hidden 32)
# epoch_lines OUT: the table's rows, after the last erased progress line on each
epoch_lines() { sed 's/.*\x1b\[K//' "$1" | grep -aE '^ +[0-9]+ '; }
# jsonl_to_csv FILE: the values of each record in order (keys dropped, null as empty)
jsonl_to_csv() { sed -E 's/^\{//; s/\}$//; s/"[a-z_]+"://g; s/null//g' "$1"; }

# ---- 1. CSV against the epoch lines --------------------------------------------------
run1=("${small[@]}" --val 500 --epochs 5 --print-every 2 --schedule step --step-epochs 2
      --gamma 0.5 --lr 0.08)
"$bin" "${run1[@]}" --log "$tmp/a.csv" >"$tmp/a.out" 2>&1 || { fail "run 1: $(tail -n 3 "$tmp/a.out")"; finish; }
[ "$(head -n 1 "$tmp/a.csv")" = "$header" ] && ok "the CSV header" || fail "header: $(head -n 1 "$tmp/a.csv")"
[ "$(tail -n +2 "$tmp/a.csv" | cut -d, -f1 | tr '\n' ' ')" = "1 2 3 4 5 " ] &&
    ok "one record per epoch 1..5 (--print-every 2 shows $(epoch_lines "$tmp/a.out" | awk '{printf "%s ", $1}'))" ||
    fail "records: $(tail -n +2 "$tmp/a.csv" | cut -d, -f1 | tr '\n' ' ')"
# 2500 training images at batch 128: 20 steps an epoch; the rate halves every 40 steps
bad=$(tail -n +2 "$tmp/a.csv" | awk -F, '{
    want = 0.08 * 0.5 ^ int(($1 * 20 - 1) / 40)
    if ($2 != $1 * 20 || sprintf("%.6g", $3) != sprintf("%.6g", want)) print "epoch " $1 ": steps " $2 ", lr " $3 " (want " want ")"
}')
[ -z "$bad" ] && ok "steps = 20 x epoch, lr 0.08 halved every 2 epochs" || fail "$bad"
bad=$(awk -F, 'NR == FNR { if (FNR > 1) rec[$1] = $0; next }
    { n = split($0, g, " +"); split(rec[g[2]], f, ","); shown[g[2]] = 1
      got = sprintf("%5d %9.4f %8.2f %9.4f %8.2f %8.2f %8.3f %10.0f", f[1], f[4], 100 * f[5], f[6],
                    100 * f[7], 100 * f[9], f[10], f[11])
      if (got != $0) print "log:   " got "\n  line: " $0 }
    END { for (e in rec) { split(rec[e], f, ","); has = f[8] != "" || f[9] != ""
            if (has != (e in shown) || f[6] == "" || f[7] == "") print "epoch " e ": test fields " (has ? "given" : "empty") ", shown " ((e in shown) ? 1 : 0) ", val " f[6] } }' \
    "$tmp/a.csv" <(epoch_lines "$tmp/a.out"))
[ -z "$bad" ] && ok "every field as the epoch lines print it; the test fields empty on epoch 3 (not shown)" ||
    { fail "the log against the epoch lines:"; echo "$bad" | head -n 12; }

# ---- 2. JSON Lines ---------------------------------------------------------------------
"$bin" "${run1[@]}" --log "$tmp/a.jsonl" >"$tmp/b.out" 2>&1 || fail "run 2: $(tail -n 3 "$tmp/b.out")"
keys='^\{"epoch":[0-9]+,"steps":[0-9]+,"lr":[^,]+,"train_loss":[^,]+,"train_accuracy":[^,]+,"val_loss":[^,]+,"val_accuracy":[^,]+,"test_loss":[^,]+,"test_accuracy":[^,]+,"seconds":[^,]+,"images_per_s":[^,]+\}$'
[ "$(grep -cE "$keys" "$tmp/a.jsonl")" = 5 ] && [ "$(wc -l <"$tmp/a.jsonl")" = 5 ] &&
    ok "5 JSON lines, the keys in order" || { fail "JSON lines:"; head -n 5 "$tmp/a.jsonl"; }
grep -q '^{"epoch":3,.*"test_loss":null,"test_accuracy":null,' "$tmp/a.jsonl" &&
    ok "epoch 3: test_loss and test_accuracy null" || fail "epoch 3: $(sed -n 3p "$tmp/a.jsonl")"
# the same training (the reference is deterministic): the values but the times agree
if diff <(tail -n +2 "$tmp/a.csv" | cut -d, -f1-9) <(jsonl_to_csv "$tmp/a.jsonl" | cut -d, -f1-9) >"$tmp/diff"; then
    ok "the JSON values are the CSV's"
else
    fail "JSON against CSV:"; head -n 6 "$tmp/diff"
fi
if command -v python3 >/dev/null; then
    python3 -c 'import json, sys
for line in open(sys.argv[1]): json.loads(line)' "$tmp/a.jsonl" && ok "python3 reads every line as JSON" ||
        fail "python3 cannot read the JSON lines"
fi
# a test set without labels: nothing to measure
awk 'BEGIN { for (c = 0; c < 784; c++) printf "%spixel%d", c ? "," : "", c; print "";
             for (r = 0; r < 20; r++) { for (c = 0; c < 784; c++) printf "%s%d", c ? "," : "", (r * 7 + c) % 256; print "" } }' >"$tmp/unlabelled.csv"
"$bin" "${small[@]}" --train-limit 1000 --epochs 2 --test-csv "$tmp/unlabelled.csv" --log "$tmp/u.jsonl" >"$tmp/u.out" 2>&1 ||
    fail "unlabelled run: $(tail -n 3 "$tmp/u.out")"
[ "$(grep -c '"val_loss":null,"val_accuracy":null,"test_loss":null,"test_accuracy":null,' "$tmp/u.jsonl")" = 2 ] &&
    ok "unlabelled test set: test fields null in both records" || { fail "unlabelled:"; cat "$tmp/u.jsonl"; }

# ---- 3. resuming -----------------------------------------------------------------------
run3=("${small[@]}" --train-limit 2000 --schedule step --step-epochs 1 --gamma 0.7)
"$bin" "${run3[@]}" --epochs 2 --checkpoint "$tmp/c.ckpt" --log "$tmp/r.csv" >"$tmp/r1.out" 2>&1 ||
    fail "resume run 1: $(tail -n 3 "$tmp/r1.out")"
cp "$tmp/c.ckpt" "$tmp/c2.ckpt"
cp "$tmp/r.csv" "$tmp/r_first.csv"
"$bin" train --device cpu --resume "$tmp/c.ckpt" --epochs 3 --log "$tmp/r.csv" >"$tmp/r2.out" 2>&1 ||
    fail "resume run 2: $(tail -n 3 "$tmp/r2.out")"
[ "$(tail -n +2 "$tmp/r.csv" | cut -d, -f1 | tr '\n' ' ')" = "1 2 3 " ] && ok "going on to epoch 3 appends record 3" ||
    fail "after run 2: $(tail -n +2 "$tmp/r.csv" | cut -d, -f1 | tr '\n' ' ')"
"$bin" train --device cpu --resume "$tmp/c2.ckpt" --epochs 4 --log "$tmp/r.csv" >"$tmp/r3.out" 2>&1 ||
    fail "resume run 3: $(tail -n 3 "$tmp/r3.out")"
[ "$(cut -d, -f1 "$tmp/r.csv" | tr '\n' ' ')" = "epoch 1 2 3 4 " ] &&
    ok "resuming epoch 2's checkpoint: the header once, records 1..4 once each" ||
    fail "after run 3: $(cut -d, -f1 "$tmp/r.csv" | tr '\n' ' ')"
[ "$(head -n 3 "$tmp/r.csv")" = "$(cat "$tmp/r_first.csv")" ] && ok "records 1 and 2 kept byte for byte" ||
    fail "records 1 and 2 changed"
"$bin" "${run3[@]}" --epochs 4 --log "$tmp/whole.csv" >"$tmp/whole.out" 2>&1 || fail "whole run: $(tail -n 3 "$tmp/whole.out")"
if diff <(cut -d, -f1-9 "$tmp/whole.csv") <(cut -d, -f1-9 "$tmp/r.csv") >"$tmp/diff"; then
    ok "every value but the times as an uninterrupted 4-epoch run's log"
else
    fail "resumed log against an uninterrupted run's:"; head -n 6 "$tmp/diff"
fi

# ---- 4. --quiet ------------------------------------------------------------------------
"$bin" "${small[@]}" --train-limit 1000 --epochs 2 --quiet --log "$tmp/q.csv" --save "$tmp/q.st" >"$tmp/q.out" 2>"$tmp/q.err"
rc=$?
[ $rc -eq 0 ] && [ ! -s "$tmp/q.out" ] && [ ! -s "$tmp/q.err" ] && ok "--quiet: exit 0, nothing on stdout or stderr" ||
    { fail "--quiet: exit $rc, stdout:"; head -c 400 "$tmp/q.out"; head -c 400 "$tmp/q.err"; }
[ "$(wc -l <"$tmp/q.csv")" = 3 ] && [ -s "$tmp/q.st" ] && ok "--quiet: the log (2 records) and the model written" ||
    fail "--quiet: log $(wc -l <"$tmp/q.csv") lines, model $(ls -l "$tmp/q.st" 2>&1)"
"$bin" "${small[@]}" --quiet --epochs 0 >"$tmp/q2.out" 2>"$tmp/q2.err"
rc=$?
[ $rc -eq 2 ] && [ ! -s "$tmp/q2.out" ] && grep -q '^mnistcl: .*epochs' "$tmp/q2.err" &&
    ok "--quiet: a bad option is still an error on stderr (exit 2)" ||
    fail "--quiet with --epochs 0: exit $rc, stdout '$(head -c 200 "$tmp/q2.out")', stderr '$(cat "$tmp/q2.err")'"

# ---- 5. --progress ---------------------------------------------------------------------
# batch 1 on the reference, 784-128-10: about a second an epoch here, so the line is drawn
# (every 100 ms) several times
run5=(train --device cpu --train-limit 2000 --batch 1 --epochs 2 --lr 0.01)
"$bin" "${run5[@]}" --progress on >"$tmp/p_on.out" 2>&1 || fail "--progress on: $(tail -n 3 "$tmp/p_on.out")"
"$bin" "${run5[@]}" >"$tmp/p_off.out" 2>&1 || fail "--progress auto: $(tail -n 3 "$tmp/p_off.out")"
updates=$(grep -ao $'\r''epoch [12]/2  step [0-9]*/2000  loss [0-9.]*  train [0-9.]*%  [0-9]* img/s  ETA [0-9:]*' "$tmp/p_on.out" | wc -l)
[ "$updates" -ge 2 ] && ok "--progress on: $updates progress lines" ||
    { fail "--progress on: $updates progress lines:"; head -c 600 "$tmp/p_on.out" | cat -v; }
[ "$(grep -ac $'\r\x1b\\[K *[12] ' "$tmp/p_on.out")" = 2 ] && ok "--progress on: the line erased before each epoch line" ||
    fail "--progress on: erasures before the epoch lines: $(grep -ac $'\r\x1b\\[K *[12] ' "$tmp/p_on.out")"
grep -q "(run [0-9:]*)" "$tmp/p_on.out" && ok "--progress on: the run's ETA in epoch 1" || fail "no run ETA"
if diff <(epoch_lines "$tmp/p_on.out" | awk '{print $1, $2, $3, $4}') <(epoch_lines "$tmp/p_off.out" | awk '{print $1, $2, $3, $4}') >"$tmp/diff"; then
    ok "--progress on: the same epoch lines (loss, train%, test%) as without"
else
    fail "epoch lines with and without progress:"; cat "$tmp/diff"
fi
grep -aq $'[\r\x1b]' "$tmp/p_off.out" && fail "--progress auto on a file: escapes or \\r in the output" ||
    ok "--progress auto on a file: plain lines only"
if command -v script >/dev/null; then # a terminal: util-linux's script runs it on a pty
    TERM=xterm script -qec "$(printf '%q ' "$bin" "${run5[@]}" --epochs 1)" /dev/null </dev/null >"$tmp/tty.out" 2>&1
    grep -aq $'\r''epoch 1/1  step ' "$tmp/tty.out" && ok "--progress auto on a terminal: progress lines" ||
        { fail "--progress auto on a terminal: no progress line"; head -c 400 "$tmp/tty.out" | cat -v; }
    TERM=dumb script -qec "$(printf '%q ' "$bin" "${run5[@]}" --epochs 1)" /dev/null </dev/null >"$tmp/dumb.out" 2>&1
    ! grep -aq $'\x1b' "$tmp/dumb.out" && grep -aq '^ *1 ' "$tmp/dumb.out" &&
        ok "--progress auto on a TERM=dumb terminal: none" || fail "TERM=dumb: $(head -c 300 "$tmp/dumb.out" | cat -v)"
fi

# ---- 6. bad paths and values, before training -----------------------------------------
for spec in "$tmp/missing/l.csv|folder" "$tmp|directory" ; do
    path=${spec%|*} word=${spec#*|}
    out=$("$bin" "${small[@]}" --epochs 1 --log "$path" 2>&1)
    rc=$?
    [ $rc -eq 4 ] && grep -q "^mnistcl: --log $path: .*$word" <<<"$out" && ! grep -q '^epoch ' <<<"$out" &&
        ok "--log $path: exit 4 before training ($(grep '^mnistcl' <<<"$out" | cut -c1-90))" ||
        fail "--log $path: exit $rc: $out"
done
expect_message 2 "^mnistcl: --save and --log name the same file" "$bin" "${small[@]}" --epochs 1 --save "$tmp/x" --log "$tmp/./x"
expect_message 2 "^mnistcl: --checkpoint and --log name the same file" "$bin" train --device cpu --resume "$tmp/c.ckpt" --log "$tmp/c.ckpt"
expect_message 2 "^mnistcl: --log .*unlabelled.csv would overwrite the --test-csv input file" "$bin" "${small[@]}" --test-csv "$tmp/unlabelled.csv" --log "$tmp/unlabelled.csv"
expect_message 2 "^mnistcl: --progress 'sideways': expected auto, on or off" "$bin" "${small[@]}" --epochs 1 --progress sideways
printf 'name,value\nx,1\n' >"$tmp/other.csv"
out=$("$bin" train --device cpu --resume "$tmp/c2.ckpt" --epochs 4 --log "$tmp/other.csv" 2>&1)
rc=$?
[ $rc -eq 3 ] && grep -q "^mnistcl: $tmp/other.csv:1: not the header" <<<"$out" && ! grep -q '^epoch ' <<<"$out" &&
    [ "$(cat "$tmp/other.csv")" = "$(printf 'name,value\nx,1')" ] &&
    ok "--resume with a --log that is not a log: exit 3, left untouched" || fail "not a log: exit $rc: $out"

# ---- 7. a write failing mid-run --------------------------------------------------------
# a 1 KiB file size limit (SIGXFSZ ignored, so write fails with EFBIG): 4 records fit
out=$(ulimit -f 1; trap '' XFSZ; "$bin" "${small[@]}" --train-limit 300 --epochs 8 --log "$tmp/full.jsonl" 2>&1)
rc=$?
warnings=$(grep -c '^mnistcl: warning: --log' <<<"$out")
records=$(grep -cE "$keys" "$tmp/full.jsonl")
[ $rc -eq 0 ] && [ "$warnings" = 1 ] && grep -q '^training took' <<<"$out" && [ "$(epoch_lines <(echo "$out") | wc -l)" = 8 ] &&
    ok "a failed write: one warning, all 8 epochs trained ($(grep '^mnistcl: warning' <<<"$out" | cut -c1-100)...)" ||
    { fail "a failed write: exit $rc, $warnings warnings:"; echo "$out" | tail -n 12; }
[ "$records" -ge 1 ] && [ "$records" -lt 8 ] && [ "$(wc -l <"$tmp/full.jsonl")" = "$records" ] &&
    [ "$(tail -c 1 "$tmp/full.jsonl" | od -An -c | tr -d ' ')" = '\n' ] &&
    ok "the log keeps its $records whole records, nothing cut short" ||
    { fail "after the failed write: $records records in $(wc -c <"$tmp/full.jsonl") bytes"; tail -c 300 "$tmp/full.jsonl"; }

finish

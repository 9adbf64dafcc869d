#!/usr/bin/env bash
# No lost work, no wrong file: every output path is checked before the first step and
# named in its message; files are replaced atomically (a full disk leaves the old file,
# with "No space left on device"); non-regular files are never replaced; predictions are
# sized from the network; a resumed run goes on checkpointing; a checkpoint's fields are
# checked against the data and the command line's limits; sigmoid-MSE divergence stops
# the run without saving the wreck; messages never claim what did not happen. Runs on the
# CPU reference (the sanitizer build runs it too).
# usage: lost_work.sh PATH/TO/mnistcl PATH/TO/st_meta_set
set -u
bin=$1
meta_set=$2
tmp=$(mktemp -d)
mounted=
cleanup() { [ -n "$mounted" ] && umount "$mounted" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
source "$(dirname "$0")/lib.sh"
small=(--device cpu --hidden 8 --epochs 1 --train-limit 300)

# no_training OUTPUT...: the run stopped before its first epoch line
started() { grep -Eq '^ +1 ' <<<"$1"; }
check_early() { # CODE PATTERN ARGS...: fails before training, message names the path, no .tmp
    local code=$1 pattern=$2 out rc
    shift 2
    out=$("$bin" train "${small[@]}" "$@" 2>&1 </dev/null)
    rc=$?
    if [ $rc -eq "$code" ] && grep -Eq -- "$pattern" <<<"$out" && ! started "$out" &&
        ! grep -q '\.tmp\.' <<<"$out"; then
        ok "exit $rc before training: $(grep '^mnistcl: ' <<<"$out" | head -n 1 | cut -c1-110)"
    else
        fail "train $* -> exit $rc (want $code before training, /$pattern/, no .tmp name):"
        sed 's/^/    /' <<<"$out" | head -n 12
    fi
}

# ---- unusable output paths are found before any work -------------------------------------
check_early 4 "--predictions $tmp/nodir/p.csv: the folder $tmp/nodir: No such file" \
    --save "$tmp/kept.st" --predictions "$tmp/nodir/p.csv"
check_early 4 "--save $tmp/nodir/m.st: the folder .*No such file" --save "$tmp/nodir/m.st"
check_early 4 "--checkpoint $tmp/nodir/c.ckpt: the folder" --checkpoint "$tmp/nodir/c.ckpt"
mkdir "$tmp/adir"
check_early 4 "--save $tmp/adir: is a directory" --save "$tmp/adir"
check_early 4 "--checkpoint $tmp/adir: is a directory" --checkpoint "$tmp/adir"
check_early 4 "--save $tmp/adir/: (names a folder|is a directory)" --save "$tmp/adir/"
check_early 4 "--save /dev/null: is not a regular file" --save /dev/null
[ -c /dev/null ] && ok "/dev/null is still a device" || fail "/dev/null was replaced"
mkfifo "$tmp/fifo"
check_early 4 "--predictions $tmp/fifo: is not a regular file" --predictions "$tmp/fifo"
check_early 2 "--save and --checkpoint name the same file" --save "$tmp/x.st" --checkpoint "$tmp/x.st"
check_early 2 "--save and --checkpoint name the same file" --save "$tmp/x.st" --checkpoint "$tmp/adir/../x.st"
long=$(printf 'd%.0s' $(seq 1 4100))
check_early 2 "path is [0-9]+ bytes long" --save "$tmp/$long"
if mkdir "$tmp/ro" && mount -t tmpfs -o size=64k,ro tmpfs "$tmp/ro" 2>/dev/null; then
    mounted="$tmp/ro"
    check_early 4 "--save $tmp/ro/m.st: cannot create a file in $tmp/ro: Read-only file system" \
        --save "$tmp/ro/m.st"
    umount "$tmp/ro" && mounted=
else
    chmod 555 "$tmp/ro"
    if [ "$(id -u)" -ne 0 ]; then
        check_early 4 "--save $tmp/ro/m.st: cannot create a file in $tmp/ro: Permission denied" \
            --save "$tmp/ro/m.st"
    else
        echo "note: neither a read-only mount nor permissions can stop root here"
    fi
fi

# ---- a stale temporary file of a killed process is removed; ours never survive ------------
: >"$tmp/s.st.tmp.999999999"
expect 0 "saved $tmp/s.st" "$bin" train "${small[@]}" --save "$tmp/s.st"
[ ! -e "$tmp/s.st.tmp.999999999" ] && ok "a dead process's s.st.tmp.PID was removed" ||
    fail "the stale temporary file is still there"

# ---- full disk: the old file is kept, the message says why --------------------------------
if mkdir "$tmp/full" && mount -t tmpfs -o size=40k tmpfs "$tmp/full" 2>/dev/null; then
    mounted="$tmp/full"
    echo old >"$tmp/full/p.csv"
    expect 4 "$tmp/full/p.csv: cannot write: No space left on device" \
        "$bin" train "${small[@]}" --predictions "$tmp/full/p.csv" --save "$tmp/pm.st"
    [ "$(cat "$tmp/full/p.csv")" = old ] && ok "the old predictions file is intact" ||
        fail "the predictions file was changed"
    [ -z "$(ls "$tmp/full" | grep tmp)" ] && ok "no temporary file left on the full disk" ||
        fail "temporary files left: $(ls "$tmp/full")"
    [ -s "$tmp/pm.st" ] && ok "the model was saved before the predictions failed" ||
        fail "the model was lost with the predictions"
    # a checkpoint that no longer fits mid-epoch: named, with errno text, no "see above"
    expect_message 4 "c.ckpt: cannot write: No space left on device \(the checkpoint of epoch 1, step" \
        "$bin" train --device cpu --hidden 8 --epochs 1 --train-limit 3000 --checkpoint "$tmp/full/c.ckpt" --checkpoint-every 2
    umount "$tmp/full" && mounted=
fi
# the same through a file-size limit (no root needed): EFBIG is named
out=$(ulimit -f 100; trap '' XFSZ; "$bin" train "${small[@]}" --hidden 128 --save "$tmp/big.st" 2>&1)
grep -q "big.st: cannot write: File too large" <<<"$out" && [ ! -e "$tmp/big.st" ] &&
    [ -z "$(ls "$tmp" | grep 'big.st.tmp')" ] && ok "a file-size limit: named, nothing left behind" ||
    { fail "write past a file-size limit:"; sed 's/^/    /' <<<"$out" | tail -n 3; }

# ---- a closed stdout does not cost the model -------------------------------------------------
"$bin" train "${small[@]}" --epochs 3 --save "$tmp/piped.st" 2>/dev/null | head -n 1 >/dev/null
[ -s "$tmp/piped.st" ] && ok "stdout closed early (| head): the model was still saved" ||
    fail "stdout closed early: no model"

# ---- predictions are sized from the network -----------------------------------------------
expect 0 "wrote 10000 predictions" "$bin" train "${small[@]}" --layers 784,16,40 --predictions "$tmp/p40.csv"
bad=$(tail -n +2 "$tmp/p40.csv" | awk -F, '$2 < 0 || $2 > 39 || $1 != NR' | head -n 3)
[ "$(wc -l <"$tmp/p40.csv")" -eq 10001 ] && [ -z "$bad" ] && ok "40 outputs: 10000 rows, labels 0..39" ||
    fail "40-output predictions: $bad"
# 3 classes on 4 pixels: the label is the bright pixel; the test CSV has no labels
{ echo label,pixel0,pixel1,pixel2,pixel3
  for i in $(seq 1 40); do echo "0,255,0,0,9"; echo "1,0,255,0,9"; echo "2,0,0,255,9"; done
} >"$tmp/three.csv"
printf 'pixel0,pixel1,pixel2,pixel3\n0,0,255,9\n255,0,0,9\n0,255,0,9\n0,0,255,9\n' >"$tmp/three_test.csv"
expect 0 "wrote 4 predictions" "$bin" train --device cpu --layers 4,3 --epochs 30 --batch 8 --lr 0.5 \
    --train-csv "$tmp/three.csv" --test-csv "$tmp/three_test.csv" --predictions "$tmp/p3.csv"
[ "$(tail -n +2 "$tmp/p3.csv" | tr '\n' ' ')" = "1,2 2,0 3,1 4,2 " ] && ok "3 outputs: the right labels" ||
    fail "3-output predictions: $(tail -n +2 "$tmp/p3.csv" | tr '\n' ' ')"

# ---- resuming keeps checkpointing ----------------------------------------------------------
"$bin" train "${small[@]}" --checkpoint "$tmp/r.ckpt" >/dev/null 2>&1
expect 0 "resuming $tmp/r.ckpt at epoch 2" "$bin" train --device cpu --resume "$tmp/r.ckpt" --epochs 3
head -c 4096 "$tmp/r.ckpt" | grep -q '"epoch":"4"' && ok "--resume without --checkpoint went on checkpointing into the resumed file" ||
    fail "the resumed run did not checkpoint (epoch $(head -c 4096 "$tmp/r.ckpt" | grep -o '"epoch":"[0-9]*"'))"
expect_message 2 "--epochs 1: .*r.ckpt is already in epoch 4 \(step 0\); give at least --epochs 3" \
    "$bin" train --device cpu --resume "$tmp/r.ckpt" --epochs 1

# ---- a path that is not UTF-8: valid JSON in the files, and a resume finds it again -------
odd="$tmp/tr$(printf '\xff')in.csv"
cp "$tmp/three.csv" "$odd"
expect 0 "saved" "$bin" train --device cpu --layers 4,3 --epochs 1 --batch 8 --train-csv "$odd" \
    --test-csv "$odd" --save "$tmp/odd$(printf '\xfe').st" --checkpoint "$tmp/odd.ckpt"
for f in "$tmp/odd$(printf '\xfe').st" "$tmp/odd.ckpt"; do
    len=$(od -An -tu4 -N4 "$f" | tr -d ' ')
    tail -c +9 "$f" | head -c "$len" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 &&
        ok "${f##*/}: the header is valid UTF-8" || fail "${f##*/}: the header is not UTF-8"
done
expect 0 "resuming .*odd.ckpt at epoch 2" "$bin" train --device cpu --resume "$tmp/odd.ckpt" --epochs 2

# ---- a checkpoint's fields, against the data and the command line's limits ---------------
"$bin" train --device cpu --hidden 8 --epochs 1 --train-limit 1000 --checkpoint "$tmp/k.ckpt" >/dev/null 2>&1
edited() { # NAME KEY [VALUE]: a copy of k.ckpt with one metadata entry changed
    cp "$tmp/k.ckpt" "$tmp/$1" && "$meta_set" "$tmp/$1" "${@:2}"
}
edited lr.ckpt setting.lr 1e30 && expect_message 3 "lr.ckpt: setting.lr = '1e30' is not valid: --lr" "$bin" train --resume "$tmp/lr.ckpt" --device cpu
edited mom.ckpt setting.momentum 1.5 && expect_message 3 "setting.momentum = '1.5' is not valid" "$bin" train --resume "$tmp/mom.ckpt" --device cpu
edited ep.ckpt setting.epochs -4 && expect_message 3 "setting.epochs = '-4' is not valid" "$bin" train --resume "$tmp/ep.ckpt" --device cpu
edited pre.ckpt setting.preset nosuch && expect_message 3 "setting.preset = 'nosuch' is not a preset" "$bin" train --resume "$tmp/pre.ckpt" --device cpu
edited step.ckpt step 9 && expect_message 3 "step.ckpt: step 9 of epoch 2, but an epoch of this data has 8 steps" "$bin" train --resume "$tmp/step.ckpt" --device cpu
edited hits.ckpt step 3 && "$meta_set" "$tmp/hits.ckpt" epoch_correct 2636 &&
    expect_message 3 "epoch_correct 2636 .* cannot come from the 384 images of 3 steps" "$bin" train --resume "$tmp/hits.ckpt" --device cpu
edited data.ckpt setting.train-limit 900 && expect_message 2 "was made on other training data" "$bin" train --resume "$tmp/data.ckpt" --device cpu
edited rng.ckpt rng 0000000000000000000000000000000000000000000000000000000000000000 &&
    expect_message 3 "rng.ckpt: .*rng" timeout 20 "$bin" train --resume "$tmp/rng.ckpt" --device cpu --epochs 3
# a --val run's state: a best epoch, its weights, the counters, the plateau multiplier
"$bin" train --device cpu --hidden 8 --epochs 2 --train-limit 1000 --val 200 --plateau 0.5:1 \
    --checkpoint "$tmp/v.ckpt" >/dev/null 2>&1
vedited() { # NAME KEY [VALUE]: a copy of v.ckpt with one metadata entry changed
    cp "$tmp/v.ckpt" "$tmp/$1" && "$meta_set" "$tmp/$1" "${@:2}"
}
vedited vbest.ckpt val.best_epoch 3 && expect_message 3 "vbest.ckpt: val.best_epoch = '3' is not what a run of 2 finished epochs can have" "$bin" train --resume "$tmp/vbest.ckpt" --device cpu --epochs 3
vedited vbad.ckpt val.epochs_without_improvement 5 && expect_message 3 "val.epochs_without_improvement = '5'" "$bin" train --resume "$tmp/vbad.ckpt" --device cpu --epochs 3
vedited vscale.ckpt plateau.lr_scale 2 && expect_message 3 "plateau.lr_scale = '2'" "$bin" train --resume "$tmp/vscale.ckpt" --device cpu --epochs 3
vedited vloss.ckpt val.best_loss && expect_message 3 "vloss.ckpt: val.best_loss is missing" "$bin" train --resume "$tmp/vloss.ckpt" --device cpu --epochs 3
vedited vnone.ckpt val.best_epoch 0 && "$meta_set" "$tmp/vnone.ckpt" val.epochs_without_improvement 2 &&
    expect_message 3 "vnone.ckpt: val.best_epoch = 0 but it holds best.params" "$bin" train --resume "$tmp/vnone.ckpt" --device cpu --epochs 3
vedited vnoval.ckpt setting.val && "$meta_set" "$tmp/vnoval.ckpt" setting.plateau &&
    expect_message 3 "vnoval.ckpt: holds best.params, but its run has no --val setting" "$bin" train --resume "$tmp/vnoval.ckpt" --device cpu --epochs 3
vedited vval.ckpt setting.val ten && expect_message 3 "vval.ckpt: setting.val = 'ten' is not valid: --val 'ten': give a number" "$bin" train --resume "$tmp/vval.ckpt" --device cpu --epochs 3
vedited vplat.ckpt setting.plateau 2 && expect_message 3 "vplat.ckpt: setting.plateau = '2' is not valid: --plateau '2': the factor" "$bin" train --resume "$tmp/vplat.ckpt" --device cpu --epochs 3
vedited vstop.ckpt setting.val && expect_message 3 "vstop.ckpt: setting.plateau = '0.5:1' is not valid: --plateau needs --val" "$bin" train --resume "$tmp/vstop.ckpt" --device cpu --epochs 3
expect_message 2 "--val cannot change when resuming" "$bin" train --resume "$tmp/v.ckpt" --val 100 --device cpu
expect_message 2 "--early-stop cannot change when resuming" "$bin" train --resume "$tmp/v.ckpt" --early-stop 3 --device cpu
expect 0 "resuming .*v.ckpt at epoch 3" "$bin" train --resume "$tmp/v.ckpt" --device cpu --epochs 3

# ---- sigmoid-MSE divergence: stopped, named, nothing saved ---------------------------------
expect 7 "training diverged" "$bin" train --device cpu --preset botacademy --lr 100000 --train-limit 3000 --save "$tmp/wreck.st"
out=$("$bin" train --device cpu --preset botacademy --lr 100000 --train-limit 3000 --save "$tmp/wreck.st" --checkpoint "$tmp/w.ckpt" 2>&1)
grep -Eq "diverged in epoch 1 (at|by) step [0-9]+: a parameter reached" <<<"$out" && ok "sigmoid-MSE divergence names the epoch and step" ||
    fail "sigmoid-MSE divergence message: $out"
grep -q "no checkpoint of this run was written before it" <<<"$out" && ! grep -q intact <<<"$out" &&
    ok "the message claims no checkpoint that was not written" || fail "checkpoint claim: $out"
[ ! -e "$tmp/wreck.st" ] && [ ! -e "$tmp/w.ckpt" ] && ok "the wreck was not saved" || fail "a diverged model was saved"
expect 0 "test accuracy" "$bin" train --device cpu --preset botacademy --train-limit 3000 --epochs 1

# ---- options that were ignored or misapplied ------------------------------------------------
expect 0 "network 784-16-10, sigmoid hidden, softmax" "$bin" train --device cpu --preset botacademy --preset simple-nn --train-limit 300
out=$("$bin" train --device cpu --preset simple-nn --preset botacademy --train-limit 300 2>&1)
grep -q "^preset botacademy" <<<"$out" && grep -q "network 784-20-10" <<<"$out" &&
    ok "the last --preset is trained and named" || fail "two presets: $out"
expect 0 "device: CPU reference" env MNISTCL_DEVICE=cpu "$bin" train --hidden 8 --epochs 1 --train-limit 300
expect 0 "--device SPEC .*\[cpu\]" env MNISTCL_DEVICE=cpu "$bin" train --help
finish

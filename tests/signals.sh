#!/usr/bin/env bash
# Signals keep the work: the first SIGINT/SIGTERM stops training after the current step,
# writes --save and --checkpoint as of that step, says so, and exits 130/143 within
# seconds even for a big network; the checkpoint resumes bit for bit (CPU reference) or
# within the parity tolerance (OpenCL); a second signal ends the process at once; no
# temporary file survives any of it.
# usage: signals.sh PATH/TO/mnistcl PATH/TO/model_diff DEVICE
set -u
bin=$1
diff_tool=$2
dev=$3
tmp=$(mktemp -d)
pid=
trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
[ "$dev" = cpu ] || require_opencl "$bin"

# start LOG ARGS...: runs mnistcl train in the background (pid in $pid)
start() {
    local log=$1
    shift
    "$bin" train --device "$dev" "$@" >"$log" 2>&1 </dev/null &
    pid=$!
}
# wait_for LOG PATTERN SECONDS: until LOG matches (0) or the time is up / the run ended (1)
wait_for() {
    for _ in $(seq 1 $(($3 * 20))); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
# stop SIGNAL: sends it and waits; sets rc and secs
stop() {
    local t0
    t0=$(date +%s%N)
    kill -"$1" "$pid" 2>/dev/null # (a second signal may find the run already ended)
    wait "$pid"
    rc=$?
    secs=$((($(date +%s%N) - t0) / 1000000))
    pid=
}
no_temporaries() {
    local left
    left=$(ls "$tmp" | grep '\.tmp\.')
    [ -z "$left" ] && ok "$1: no temporary file left" || fail "$1: left behind: $left"
}

# ---- Ctrl-C on a big network: model written, exit 130, within 5 s --------------------------
if [ "$dev" = cpu ]; then big=(--layers 784,800,10 --epochs 200); first='^mnistcl|^epoch'; else
    big=(--layers 784,800,10 --epochs 200); first='^ +1 '; fi
start "$tmp/big.log" "${big[@]}" --save "$tmp/m.st"
wait_for "$tmp/big.log" "$first" 120 || fail "the big run did not start: $(tail -n 3 "$tmp/big.log")"
sleep 1
stop INT
if [ $rc -eq 130 ] && [ $secs -lt 5000 ]; then ok "SIGINT: exit 130 after $secs ms"; else
    fail "SIGINT: exit $rc after $secs ms (want 130 within 5 s)"; sed 's/^/    /' "$tmp/big.log" | tail -n 5; fi
grep -Eq "^interrupted \(SIGINT (in epoch [0-9]+ after step [0-9]+ of 469|at the start of epoch [0-9]+)\)" "$tmp/big.log" &&
    grep -q "^saved $tmp/m.st" "$tmp/big.log" && grep -q "stopping after the current step" "$tmp/big.log" &&
    ok "says at once that it stops, then where it stopped and what it wrote" ||
    { fail "SIGINT output:"; sed 's/^/    /' "$tmp/big.log" | tail -n 5; }
expect 0 "test accuracy" "$bin" eval --device cpu --model "$tmp/m.st"
head -c 4096 "$tmp/m.st" | grep -aEq '"stopped":"SIGINT (in epoch [0-9]+ after step [0-9]+ of 469|at the start of epoch [0-9]+)"' &&
    ok "the model's metadata says how far it got" || fail "no 'stopped' entry in the model's metadata"
no_temporaries "SIGINT"

# ---- a signal during the set-up (data, kernels) still leaves the initial model -----------
start "$tmp/early.log" --hidden 16 --epochs 5 --save "$tmp/early.st"
sleep 0.1
stop INT
[ $rc -eq 130 ] && grep -q "^interrupted (SIGINT" "$tmp/early.log" && [ -s "$tmp/early.st" ] &&
    ok "SIGINT during the set-up: exit 130, the initial model saved" ||
    { fail "SIGINT during the set-up: exit $rc"; sed 's/^/    /' "$tmp/early.log" | tail -n 4; }
no_temporaries "SIGINT during the set-up"

# ---- SIGTERM mid-epoch with a checkpoint: resumes to the uninterrupted run's weights -------
# stopped in its second epoch (the first one's line is the cue)
if [ "$dev" = cpu ]; then run=(--hidden 32 --epochs 3 --train-limit 12000); else
    run=(--hidden 64 --epochs 8); fi
"$bin" train --device "$dev" "${run[@]}" --save "$tmp/ref.st" >"$tmp/ref.log" 2>&1 ||
    fail "uninterrupted run: $(tail -n 3 "$tmp/ref.log")"
start "$tmp/term.log" "${run[@]}" --save "$tmp/t.st" --checkpoint "$tmp/t.ckpt"
wait_for "$tmp/term.log" '^ +1 ' 60
stop TERM
if [ $rc -eq 143 ]; then ok "SIGTERM: exit 143 after $secs ms"; else
    fail "SIGTERM: exit $rc (want 143)"; sed 's/^/    /' "$tmp/term.log" | tail -n 5; fi
grep -q "^wrote checkpoint $tmp/t.ckpt" "$tmp/term.log" && ok "the checkpoint was written on SIGTERM" ||
    fail "no checkpoint on SIGTERM: $(tail -n 3 "$tmp/term.log")"
no_temporaries "SIGTERM"
"$bin" train --device "$dev" --resume "$tmp/t.ckpt" --save "$tmp/resumed.st" >"$tmp/resume.log" 2>&1 ||
    fail "resume after SIGTERM: $(tail -n 3 "$tmp/resume.log")"
if [ "$dev" = cpu ]; then
    "$diff_tool" "$tmp/resumed.st" "$tmp/ref.st" >/dev/null && ok "resumed after SIGTERM: bit for bit the uninterrupted run" ||
        fail "resumed weights differ from the uninterrupted run's"
else
    "$diff_tool" "$tmp/resumed.st" "$tmp/ref.st" 2e-6 1e-5 >/dev/null &&
        ok "resumed after SIGTERM: the uninterrupted run's weights within 2e-6 + 1e-5|w|" ||
        fail "resumed weights differ from the uninterrupted run's beyond the parity tolerance"
fi

# ---- a second signal ends it at once; checkpoints written constantly leave nothing --------
for i in 1 2 3; do
    start "$tmp/twice.log" --hidden 16 --epochs 50 --checkpoint "$tmp/c$i.ckpt" --checkpoint-every 1 --save "$tmp/s$i.st"
    wait_for "$tmp/twice.log" '^epoch' 60
    sleep 0.$((i * 2))
    kill -INT "$pid"
    stop INT
    [ $rc -eq 130 ] && ok "two SIGINTs: exit 130" || fail "two SIGINTs: exit $rc"
done
no_temporaries "two signals during constant checkpointing"
finish

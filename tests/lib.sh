# Shared by the shell tests (sourced, not run): checks that count failures, the OpenCL
# device requirement, and the closing summary.

fails=0

ok() { echo "ok  $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# require_opencl MNISTCL: without an OpenCL device, skip (exit 77) outside CI, fail in CI.
require_opencl() {
    "$1" devices >/dev/null 2>&1 && return 0
    case "${CI:-}" in
        ""|0|false) echo "SKIP: no OpenCL device"; exit 77 ;;
        *) echo "FAIL: no OpenCL device in CI"; exit 1 ;;
    esac
}

# expect CODE PATTERN COMMAND...: runs COMMAND (no input) and checks its exit code and that
# its combined output matches the extended regular expression PATTERN.
expect() {
    local code=$1 pattern=$2 out rc
    shift 2
    out=$("$@" 2>&1 </dev/null)
    rc=$?
    if [ $rc -eq "$code" ] && grep -aEq -- "$pattern" <<<"$out"; then
        ok "exit $rc  $(grep -aE -- "$pattern" <<<"$out" | head -n 1 | cut -c1-110)"
    else
        fail "${*##*/} -> exit $rc (want $code, /$pattern/):"
        sed 's/^/    /' <<<"$out" | head -n 20
    fi
}

# expect_message CODE PATTERN COMMAND...: as expect, and the error is exactly one
# "mnistcl: ..." line.
expect_message() {
    local code=$1 pattern=$2 out rc lines
    shift 2
    out=$("$@" 2>&1 </dev/null)
    rc=$?
    lines=$(grep -c '^mnistcl: ' <<<"$out")
    if [ $rc -eq "$code" ] && grep -aEq -- "$pattern" <<<"$out" && [ "$lines" -eq 1 ]; then
        ok "exit $rc  $(grep '^mnistcl: ' <<<"$out" | cut -c1-120)"
    else
        fail "${*##*/} -> exit $rc (want $code, one line matching /$pattern/):"
        sed 's/^/    /' <<<"$out" | head -n 10
    fi
}

# finish: the summary line and the exit code.
finish() {
    if [ $fails -ne 0 ]; then
        echo "FAILED: $fails check(s)"
        exit 1
    fi
    echo "all checks passed"
    exit 0
}

# checkpoint_progress FILE: "EPOCH STEP" of a checkpoint, from its JSON header (empty when
# there is none yet)
checkpoint_progress() {
    head -c 8192 "$1" 2>/dev/null | tr ',' '\n' |
        sed -n 's/.*"\(epoch\|step\)":"\([0-9]*\)".*/\2/p' | tr '\n' ' '
}

# kill_at_checkpoint PID FILE MIN_EPOCH TRIES PAUSE: kills PID with SIGKILL as soon as FILE
# holds a mid-epoch checkpoint (step > 0) of epoch MIN_EPOCH or later, looking TRIES times
# PAUSE seconds apart; waits for PID. Returns 0 when it killed it, 1 when the run ended
# (or the tries ran out) first.
kill_at_checkpoint() {
    local pid=$1 file=$2 min_epoch=$3 tries=$4 pause=$5 epoch step killed=1
    for _ in $(seq 1 "$tries"); do
        read -r epoch step <<<"$(checkpoint_progress "$file")"
        if [ -n "${step:-}" ] && [ "$epoch" -ge "$min_epoch" ] && [ "$step" -gt 0 ]; then
            kill -9 "$pid"
            killed=0
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep "$pause"
    done
    wait "$pid" 2>/dev/null
    return $killed
}

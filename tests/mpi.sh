#!/usr/bin/env bash
# Several processes: `mpirun -np N mnistcl train` (docs/DESIGN.md, "Several machines: MPI"),
# here as ranks on this machine's cores over shared memory (--mca btl self,vader: no network
# interface needed; --oversubscribe: more ranks than cores where asked).
#   mpi.sh exchange MPIRUN TEST_EXCHANGE
#     test_exchange as 3 ranks (rank-order sums that other orders would round otherwise,
#     the same bits on every rank) and as 2.
#   mpi.sh train MPIRUN MNISTCL MODEL_DIFF
#     the default network, 3 epochs, --seed 11, on OpenCL (pocl), 2 ranks each in its own
#     working folder (an MPMD launch: rank 0 in d0/, rank 1 in d1/, outputs named relative):
#     - the test accuracy within 0.1 pp (10 images) of the single process's;
#     - only rank 0 printed (one header, 3 epoch lines, nothing on stderr) and wrote files
#       (--save, --log, --predictions, --checkpoint in d0/, d1/ left empty);
#     - run again: the same model and predictions, byte for byte;
#     - SIGTERM to rank 1 alone, mid-epoch: both ranks stop at the same step (exit 143),
#       rank 0 writes the checkpoint and the model; resumed as 2 ranks (each reading its
#       own copy, as on two machines without a shared folder) it ends with the straight
#       run's weights, bit for bit;
#     - that 2-rank checkpoint resumed by one process: it goes on, with the note that the
#       sums are now grouped over 1 replica instead of 2 (so no longer bit for bit);
#     - a rank that cannot open its device: every rank exits with an error, none hangs
#       (all with rank 1's status, 5; its error after "rank 1: ", rank 0 naming it); the
#       same bad option on every rank: one error line, rank 0's; rank 0 unable to write
#       its checkpoint mid-run: every rank ends with its status (MPI_Abort), none hangs;
#     - the CPU reference as 2 ranks of 2 devices each (--device cpu,cpu: 4 replicas, ranks
#       x devices) within 0.1 pp of one process on one (--device cpu).
# MPIRUN "none" (built without MPI) or missing: a failure in CI, a skip elsewhere.
set -u
mode=$1 mpirun=$2
source "$(dirname "$0")/lib.sh"

# require_mpi: MPI built and mpirun present, else skip outside CI and fail in CI.
require_mpi() {
    local why=""
    if [ "$mpirun" = none ]; then
        why="mnistcl was built without MPI (Debian: libopenmpi-dev openmpi-bin)"
    elif ! [ -x "$mpirun" ]; then
        why="no mpirun at $mpirun"
    fi
    [ -z "$why" ] && return 0
    case "${CI:-}" in
        ""|0|false) echo "SKIP: $why"; exit 77 ;;
        *) echo "FAIL: $why, in CI"; exit 1 ;;
    esac
}
require_mpi
# Open MPI refuses root unless told; the transport is shared memory (and self)
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
mpi=("$mpirun" --oversubscribe --mca btl self,vader)

if [ "$mode" = exchange ]; then
    prog=$3
    for n in 3 2; do
        out=$(timeout 120 "${mpi[@]}" -np $n "$prog" 2>&1)
        rc=$?
        [ $rc -eq 0 ] && ok "$(head -n 1 <<<"$out")" ||
            { fail "mpirun -np $n test_exchange -> exit $rc:"; sed 's/^/    /' <<<"$out" | head -n 20; }
    done
    finish
fi

bin=$3 diff_tool=$4
require_opencl "$bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run=(train --epochs 3 --seed 11)

# mpmd DIR0 DIR1 ARGS...: mnistcl ARGS as rank 0 in DIR0 and rank 1 in DIR1 (at most 120 s)
mpmd() {
    local d0=$1 d1=$2
    shift 2
    mkdir -p "$d0" "$d1"
    timeout 120 "${mpi[@]}" -np 1 --wdir "$d0" "$bin" "$@" : -np 1 --wdir "$d1" "$bin" "$@"
}
# images LOG: the N of "test accuracy X% (N/M)"
images() { sed -n 's/^test accuracy [0-9.]*% (\([0-9]*\)\/[0-9]*).*/\1/p' "$1" | tail -n 1; }
# within_10 A B: |A - B| <= 10 (0.1 pp of the 10000 test images)
within_10() { [ -n "$1" ] && [ -n "$2" ] && [ $(($1 - $2)) -le 10 ] && [ $(($2 - $1)) -le 10 ]; }
# empty DIR: nothing in DIR
empty() { [ -z "$(ls -A "$1")" ]; }

# ---- one process, then 2 ranks -----------------------------------------------------------
"$bin" "${run[@]}" --save "$tmp/single.st" >"$tmp/single.log" 2>&1 ||
    { cat "$tmp/single.log"; echo "FAIL: the single process"; exit 1; }
outs=(--save m.st --log l.csv --predictions p.csv --checkpoint c.st)
mpmd "$tmp/a0" "$tmp/a1" "${run[@]}" "${outs[@]}" >"$tmp/a.out" 2>"$tmp/a.err"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/a.out" "$tmp/a.err"; echo "FAIL: mpirun -np 2 -> exit $rc"; exit 1; }
single=$(images "$tmp/single.log") two=$(images "$tmp/a.out")
within_10 "$single" "$two" &&
    ok "2 ranks: $two/10000 correct, one process $single/10000 (within 0.1 pp)" ||
    fail "2 ranks: '$two'/10000 correct, one process '$single'/10000: more than 0.1 pp apart"
epochs=$(grep -cE '^ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ ' "$tmp/a.out")
headers=$(grep -c '^network ' "$tmp/a.out")
saved=$(grep -c '^saved m.st' "$tmp/a.out")
[ "$epochs" -eq 3 ] && [ "$headers" -eq 1 ] && [ "$saved" -eq 1 ] && ! [ -s "$tmp/a.err" ] &&
    ok "only rank 0 printed: one header, 3 epoch lines, one 'saved', nothing on stderr" ||
    { fail "printed: $headers headers, $epochs epoch lines, $saved 'saved' lines; stderr:";
      head -n 10 "$tmp/a.err" | sed 's/^/    /'; }
[ -s "$tmp/a0/m.st" ] && [ -s "$tmp/a0/l.csv" ] && [ -s "$tmp/a0/p.csv" ] && [ -s "$tmp/a0/c.st" ] &&
    empty "$tmp/a1" && ok "only rank 0 wrote files: m.st l.csv p.csv c.st in its folder, none in rank 1's" ||
    fail "files: rank 0's folder: $(ls "$tmp/a0" | tr '\n' ' '); rank 1's: $(ls "$tmp/a1" | tr '\n' ' ')"

# ---- repeatable ----------------------------------------------------------------------------
mpmd "$tmp/b0" "$tmp/b1" "${run[@]}" "${outs[@]}" >"$tmp/b.out" 2>&1 ||
    fail "the second 2-rank run: $(tail -n 3 "$tmp/b.out")"
cmp -s "$tmp/a0/m.st" "$tmp/b0/m.st" && cmp -s "$tmp/a0/p.csv" "$tmp/b0/p.csv" &&
    ok "run again: the same model and predictions, byte for byte" ||
    fail "run again: the model or the predictions differ ($("$diff_tool" "$tmp/a0/m.st" "$tmp/b0/m.st" 2>&1))"

# ---- SIGTERM to rank 1 alone, then resumed as 2 ranks --------------------------------------
mpmd "$tmp/c0" "$tmp/c1" "${run[@]}" --save m.st --checkpoint c.st --checkpoint-every 20 \
    >"$tmp/c.out" 2>"$tmp/c.err" &
launcher=$!
caught=
for _ in $(seq 1 1500); do
    read -r epoch step <<<"$(checkpoint_progress "$tmp/c0/c.st")"
    if [ -n "${step:-}" ] && [ "$step" -gt 0 ]; then
        for p in $(pgrep -f -- "$bin train"); do # (mpirun too sits in the last --wdir)
            if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = mnistcl ] &&
                [ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$tmp/c1" ]; then
                kill -TERM "$p" && caught=$p
            fi
        done
        break
    fi
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.01
done
wait "$launcher"
rc=$?
[ -n "$caught" ] || fail "the run ended before rank 1 could be signalled mid-epoch"
read -r epoch step <<<"$(checkpoint_progress "$tmp/c0/c.st")"
stopped=$(head -c 4096 "$tmp/c0/m.st" 2>/dev/null | grep -aoE '"stopped":"[^"]*"')
[ $rc -eq 143 ] && grep -q "^interrupted (SIGTERM" "$tmp/c.out" && [ -n "$stopped" ] &&
    empty "$tmp/c1" &&
    ok "SIGTERM to rank 1: all stopped (exit 143); rank 0 wrote the checkpoint" \
       "(epoch $epoch step $step) and the model ($stopped)" ||
    { fail "SIGTERM to rank 1: exit $rc, model '$stopped', rank 1's folder: $(ls "$tmp/c1")";
      tail -n 5 "$tmp/c.out" "$tmp/c.err" | sed 's/^/    /'; }
cp "$tmp/c0/c.st" "$tmp/c2k.st"
cp "$tmp/c0/c.st" "$tmp/c1/c.st" # rank 1's own copy: no shared folder
mpmd "$tmp/c0" "$tmp/c1" train --resume c.st --save m.st >"$tmp/r.out" 2>&1
rc=$?
grep -q "^resuming c.st at epoch $epoch, step $step" "$tmp/r.out" && [ $rc -eq 0 ] &&
    "$diff_tool" "$tmp/c0/m.st" "$tmp/a0/m.st" >/dev/null &&
    [ "$(images "$tmp/r.out")" = "$two" ] &&
    ok "resumed as 2 ranks from epoch $epoch step $step: the straight run's weights, bit for bit" ||
    { fail "resumed as 2 ranks: exit $rc, $("$diff_tool" "$tmp/c0/m.st" "$tmp/a0/m.st" 2>&1)";
      tail -n 5 "$tmp/r.out" | sed 's/^/    /'; }

# ---- the 2-rank checkpoint in one process --------------------------------------------------
"$bin" train --resume "$tmp/c2k.st" --save "$tmp/one.st" >"$tmp/one.log" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "over 2 replicas, this one over 1" "$tmp/one.log" &&
    within_10 "$(images "$tmp/one.log")" "$two" &&
    ok "the 2-rank checkpoint resumed by one process: the note on 2 replicas, then within 0.1 pp" ||
    { fail "the 2-rank checkpoint in one process: exit $rc:"; tail -n 5 "$tmp/one.log" | sed 's/^/    /'; }

# ---- failures: none hangs ------------------------------------------------------------------
mkdir -p "$tmp/f0" "$tmp/f1"
out=$(timeout 120 "${mpi[@]}" -np 1 --wdir "$tmp/f0" "$bin" "${run[@]}" : \
      -np 1 --wdir "$tmp/f1" "$bin" "${run[@]}" --device 7:7 2>&1)
rc=$?
[ $rc -eq 5 ] && grep -q '^rank 1: mnistcl: .*7:7' <<<"$out" &&
    grep -q '^mnistcl: rank 1 of the 2 could not set up' <<<"$out" &&
    ok "rank 1 without its device: all exit 5 (rank 1's status), its error and rank 0's line" ||
    { fail "rank 1 without its device: exit $rc (124: hung):"; sed 's/^/    /' <<<"$out" | head -n 12; }
# rank 1's devices unlike each other: it says so, and nobody waits in the device check
out=$(timeout 120 "${mpi[@]}" -np 1 --wdir "$tmp/f0" "$bin" train --train-limit 2000 \
      --device cpu,cpu : -np 1 --wdir "$tmp/f1" "$bin" train --train-limit 2000 \
      --device cpu,0:0 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q '^rank 1: mnistcl: data parallelism needs devices that compute alike' \
    <<<"$out" && ok "rank 1's devices differ: all exit 2 with its error, none hangs" ||
    { fail "rank 1's devices differ: exit $rc (124: hung):"; sed 's/^/    /' <<<"$out" | head -n 12; }
# rank 0's checkpoint folder taken away mid-run: its write fails, MPI_Abort ends both
mkdir -p "$tmp/g0/ck" "$tmp/g1/ck"
mpmd "$tmp/g0" "$tmp/g1" "${run[@]}" --checkpoint ck/c.st --checkpoint-every 20 >"$tmp/g.out" 2>&1 &
launcher=$!
for _ in $(seq 1 1500); do
    [ -f "$tmp/g0/ck/c.st" ] && break
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.01
done
mv "$tmp/g0/ck" "$tmp/g0/gone"
wait "$launcher"
rc=$?
[ $rc -eq 4 ] && grep -q '^mnistcl: ck/c.st: .*training stopped' "$tmp/g.out" &&
    ok "rank 0 cannot write its checkpoint mid-run: every rank ends (exit 4), none hangs" ||
    { fail "rank 0 cannot write its checkpoint: exit $rc (124: hung):"
      tail -n 8 "$tmp/g.out" | sed 's/^/    /'; }
out=$(timeout 120 "${mpi[@]}" -np 2 "$bin" train --epochs 0 2>&1)
rc=$?
[ $rc -eq 2 ] && [ "$(grep -c 'mnistcl: ' <<<"$out")" -eq 1 ] && grep -q '^mnistcl: .*epochs' <<<"$out" &&
    ok "the same bad option on both ranks: exit 2, one error line (rank 0's)" ||
    { fail "the same bad option: exit $rc:"; sed 's/^/    /' <<<"$out" | head -n 12; }

# ---- the CPU reference ---------------------------------------------------------------------
cpu=(train --epochs 1 --train-limit 10000 --seed 11)
"$bin" "${cpu[@]}" --device cpu >"$tmp/cpu1.log" 2>&1 ||
    fail "--device cpu, one process: $(tail -n 2 "$tmp/cpu1.log")"
timeout 120 "${mpi[@]}" -np 2 "$bin" "${cpu[@]}" --device cpu,cpu --plan >"$tmp/plan.log" 2>&1
grep -q '^data parallel: 4 replicas (2 on this process' "$tmp/plan.log" ||
    fail "2 ranks x 2 devices: --plan does not say 4 replicas: $(grep -i replica "$tmp/plan.log")"
timeout 120 "${mpi[@]}" -np 2 "$bin" "${cpu[@]}" --device cpu,cpu >"$tmp/cpu2.log" 2>&1 ||
    fail "--device cpu,cpu, 2 ranks: $(tail -n 2 "$tmp/cpu2.log")"
one=$(images "$tmp/cpu1.log") two_cpu=$(images "$tmp/cpu2.log")
within_10 "$one" "$two_cpu" &&
    ok "the CPU reference, 2 ranks x 2 devices: $two_cpu/10000; one process on one:" \
       "$one/10000 (within 0.1 pp)" ||
    fail "the CPU reference, 2 ranks x 2 devices: '$two_cpu'/10000, one process on one '$one'/10000"
finish

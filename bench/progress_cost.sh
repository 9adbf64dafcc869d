#!/usr/bin/env bash
# What the in-epoch progress line costs: `mnistcl train --epochs 3` (784-128-10, batch 128),
# `--preset botacademy` (batch 1, the per-sample kernel) and, for an epoch long enough to
# draw the line about 10 times, `--layers 784,800,10`, each with --progress on and
# --progress off, interleaved (on, off, on, off, ...) over ROUNDS rounds. Prints, per
# command, the median epoch seconds of both (epochs 2 and 3 of every run: epoch 1 includes
# pocl's lazy kernel compilation), their ratio, and how many progress lines the runs drew;
# then, on OpenCL, the device time the lines' sums take (one profiled run each way).
# --progress on writes its lines to a file here (stdout is not a terminal); the work, a
# sum over the per-image statistics and a read that does not wait every 100 ms, is the
# same as on a terminal.
# usage: bench/progress_cost.sh [ROUNDS] [DEVICE]    (from the repository root; ROUNDS >= 5)
set -euo pipefail
rounds=${1:-7}
device=${2:-auto}
bin=${MNISTCL_BIN:-build/mnistcl} # MNISTCL_BIN: another build
[ -x "$bin" ] || { echo "build first: cmake -S . -B build && cmake --build build" >&2; exit 1; }
[ "$rounds" -ge 5 ] || { echo "ROUNDS: at least 5" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

names=(default botacademy wide)
commands=("train --epochs 3" "train --preset botacademy --epochs 3"
          "train --layers 784,800,10 --epochs 3")
for r in $(seq 1 "$rounds"); do
    for k in 0 1 2; do
        for mode in on off; do
            # shellcheck disable=SC2086 # the command's words
            "$bin" ${commands[$k]} --device "$device" --progress "$mode" >"$tmp/out" 2>&1 ||
                { echo "failed: mnistcl ${commands[$k]} --progress $mode" >&2; tail -n 5 "$tmp/out" >&2; exit 1; }
            sed 's/.*\x1b\[K//' "$tmp/out" | awk '$1 ~ /^[0-9]+$/ && $1 > 1 && NF == 6 {print $5}' \
                >>"$tmp/${names[$k]}_$mode.s"
            { grep -ao $'\r''epoch ' "$tmp/out" || true; } | wc -l >>"$tmp/${names[$k]}_$mode.lines"
        done
    done
done
printf "%-12s %12s %12s %8s %14s\n" command "on s/epoch" "off s/epoch" on/off "lines per run"
for k in 0 1 2; do
    on=$(median $(cat "$tmp/${names[$k]}_on.s"))
    off=$(median $(cat "$tmp/${names[$k]}_off.s"))
    lines=$(median $(cat "$tmp/${names[$k]}_on.lines"))
    printf "%-12s %12s %12s %8.3f %14s\n" "${names[$k]}" "$on" "$off" \
        "$(awk -v a="$on" -v b="$off" 'BEGIN {print a / b}')" "$lines"
done
echo "device: $(sed -n 's/^device: //p' "$tmp/out"); $rounds rounds, epochs 2-3 of each run"
# The epochs' noise on a shared machine is larger than the line's cost: the device time
# the lines add, from one profiled run each way (MNISTCL_PROFILE: OpenCL only), is the
# extra sum_stats launches against the whole of the kernels' time.
if grep -q '^device: OpenCL' "$tmp/out"; then
    printf "%-12s %16s %16s %14s %10s\n" command "sum_stats on" "sum_stats off" "extra ms/run" \
        "of kernels"
    for k in 0 1 2; do
        for mode in on off; do
            # shellcheck disable=SC2086
            MNISTCL_PROFILE=1 "$bin" ${commands[$k]} --device "$device" --progress "$mode" 2>"$tmp/prof_$mode" >/dev/null
        done
        read -r calls_on ms_on total_on <<<"$(awk '$1 == "sum_stats" {c = $2; m = $4} $3 == "calls" {t += $4} END {print c, m, t}' "$tmp/prof_on")"
        read -r calls_off ms_off total_off <<<"$(awk '$1 == "sum_stats" {c = $2; m = $4} $3 == "calls" {t += $4} END {print c, m, t}' "$tmp/prof_off")"
        # the extra launches at the profiled run's mean time per launch
        extra=$(awk -v c="$calls_on" -v d="$calls_off" -v m="$ms_on" 'BEGIN {print (c - d) * m / c}')
        printf "%-12s %16s %16s %14.2f %9.3f%%\n" "${names[$k]}" "$calls_on (${ms_on} ms)" \
            "$calls_off (${ms_off} ms)" "$extra" \
            "$(awk -v e="$extra" -v t="$total_off" 'BEGIN {print 100 * e / t}')"
    done
fi

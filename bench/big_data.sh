#!/usr/bin/env bash
# Training sets from 60 K to 10 M images (MNIST's training set repeated, made by
# bench/make_big_mnist.py into BIG_DIR/N): per size, the images/s of one epoch of the
# default network, the start-up (the process's wall time minus the training and the test
# pass it reports), the peak resident memory, and how the set was placed (resident, split,
# streamed). Sizes are interleaved, ROUNDS rounds, the file in the page cache (a first
# untimed read). usage: big_data.sh [MNISTCL [BIG_DIR [ROUNDS [SIZES...]]]]
set -eu
bin=${1:-build/mnistcl}
big=${2:-/work/big}
rounds=${3:-2}
shift $(($# < 3 ? $# : 3))
[ $# -gt 0 ] && sizes=("$@") || sizes=(60000 1020000 3000000 10000000)
here=$(cd "$(dirname "$0")" && pwd)
for n in "${sizes[@]}"; do
    [ "$n" = 60000 ] && continue
    [ -f "$big/$n/train-images-idx3-ubyte" ] || python3 "$here/make_big_mnist.py" "$n" "$big/$n"
    cat "$big/$n/train-images-idx3-ubyte" >/dev/null # into the page cache
done
printf '%-9s %-5s %10s %9s %9s %8s  %s\n' images round images/s startup_s wall_s rss_GB placement
for r in $(seq 1 "$rounds"); do
    for n in "${sizes[@]}"; do
        data=()
        [ "$n" = 60000 ] || data=(--data "$big/$n")
        out=$(/usr/bin/time -f "wall %e rss %M" "$bin" train "${data[@]}" --epochs 1 2>&1)
        ips=$(awk '$1 == "1" && NF == 6 { print $6 }' <<<"$out")
        train=$(sed -n 's/^training took \([0-9.]*\) s.*/\1/p' <<<"$out")
        wall=$(sed -n 's/^wall \([0-9.]*\) rss.*/\1/p' <<<"$out")
        rss=$(sed -n 's/.* rss \([0-9]*\)$/\1/p' <<<"$out")
        place=$(sed -n 's/^training set: //p' <<<"$out")
        awk -v n="$n" -v r="$r" -v ips="$ips" -v w="$wall" -v t="$train" -v m="$rss" \
            -v p="${place:-resident}" \
            'BEGIN { printf "%-9s %-5s %10s %9.2f %9.2f %8.2f  %s\n", n, r, ips, w - t, w,
                     m / 1048576, p }'
    done
done

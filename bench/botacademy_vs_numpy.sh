#!/usr/bin/env bash
# Tutorial 000's NumPy program against `mnistcl train --preset botacademy`, in one run,
# alternating, ROUNDS times. Both train 784-20-10 per sample for 3 epochs; reported is
# each side's median seconds per epoch (mnistcl's first epoch, which includes pocl's
# kernel compilation, is left out) and the ratio.
# NumPy runs at its best: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (this machine's
# environment pins OpenBLAS to Haswell kernels), one BLAS thread (per-sample matrices
# are tiny; threads only add overhead).
# usage: bench/botacademy_vs_numpy.sh [ROUNDS] [--device SPEC]   (run from the repository root)
set -euo pipefail
rounds=${1:-3}
device=${3:-auto}
bin=build/mnistcl
py=/usr/bin/python3 # Debian's python3-numpy
[ -x "$bin" ] || { echo "build first: bash .ci/setup" >&2; exit 1; }
"$py" -c 'import numpy' 2>/dev/null || { echo "needs Debian's python3-numpy" >&2; exit 1; }
numpy_t=() mnistcl_t=()
for r in $(seq 1 "$rounds"); do
    out=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
        "$py" bench/seed000_numpy.py 3 data/mnist)
    echo "round $r numpy:"; sed 's/^/  /' <<<"$out"
    numpy_t+=($(sed -n 's/.*(\([0-9.]*\) s)$/\1/p' <<<"$out"))
    numpy_acc=$(tail -n 1 <<<"$out" | sed -n 's/.*Précision : \([0-9.]*\)%.*/\1/p')
    out=$("$bin" train --preset botacademy --device "$device")
    echo "round $r mnistcl:"; grep -E '^device|^ +[0-9]+ |^test' <<<"$out" | sed 's/^/  /'
    mnistcl_t+=($(awk '$1 ~ /^[23]$/ && NF == 6 {print $5}' <<<"$out"))
    mnistcl_acc=$(awk '$1 == 3 && NF == 6 {print $3}' <<<"$out")
    mnistcl_test=$(sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p' <<<"$out")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
n=$(median "${numpy_t[@]}")
m=$(median "${mnistcl_t[@]}")
echo
echo "botacademy (784-20-10 sigmoid, per-sample SGD), seconds per epoch, median of $rounds rounds:"
echo "  NumPy tutorial   $n s   (training accuracy in epoch 3: $numpy_acc%)"
echo "  mnistcl          $m s   (training accuracy in epoch 3: $mnistcl_acc%, test $mnistcl_test%)"
awk -v n="$n" -v m="$m" 'BEGIN { printf "  ratio            %.1fx faster (goal: 20x)\n", n / m }'

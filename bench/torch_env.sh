# Sourced by the benchmarks that run PyTorch (vs_pytorch.sh, time_to_accuracy.sh), after
# they set $bin: checks mnistcl is built and PyTorch can run at its best, and sets $py.
# They run it with OpenBLAS at its best too: `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
# OPENBLAS_NUM_THREADS=1` (this machine's environment pins OpenBLAS to slow kernels).
py=/usr/bin/python3
[ -x "$bin" ] || { echo "build first: bash .ci/setup" >&2; exit 1; }
"$py" -c 'import torch' 2>/dev/null || { echo "needs Debian's python3-torch" >&2; exit 1; }
# Debian's torch takes whichever BLAS the alternatives system points at; the netlib
# reference one (what python3-torch alone pulls in) makes it ~10x slower than it can be
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
    *openblas*) ;;
    *) echo "PyTorch would run on the reference BLAS ($blas), far below its best:" \
            "install libopenblas0-pthread (apt-get) first" >&2; exit 1 ;;
esac

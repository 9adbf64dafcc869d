#!/usr/bin/env bash
# mnistcl's optimizers and learning-rate schedules against PyTorch's (torch.optim,
# torch.optim.lr_scheduler), step by step: SGD with momentum and weight decay, Nesterov,
# Adam, Adam with (L2) weight decay, AdamW, and cosine / one-cycle schedules with warm-up,
# on 784-32-10 relu/softmax, batch 16, 20 steps over the first 320 training images in
# file order, from the same initial weights; plus a few extra cases (two epochs, a deeper
# net, batch 1). mnistcl runs on the CPU reference and the OpenCL device, plain and through
# the trainer's unfused and dense-input knobs (bench/optimizer_steps.c); every parameter
# after every step is compared with PyTorch's (max |a-b| / max(|b|, 1e-3) <= 1e-5), and
# each step's update is replayed in PyTorch from mnistcl's state (bench/optimizer_check.py
# explains the columns and verdicts). Exits 1 on any FAIL (or NOISE: see there).
# usage: bench/optimizer_check.sh [DEVICE] [OUTDIR]   (from the repository root)
#        DEVICE: the OpenCL device (default opencl; "none": the CPU reference only)
#        OUTDIR: keep the files there (~260 MB; default: a temporary folder, removed)
#        OPTIMIZER_STEPS: the bench binary (default build/optimizer_steps)
#        OPTIMIZER_CHECK_NOISE_OK=1, OPTIMIZER_CHECK_DECIMAL_HP=1: see optimizer_check.py
set -euo pipefail
device=${1:-opencl}
bin=${OPTIMIZER_STEPS:-build/optimizer_steps}
py=/usr/bin/python3
[ -x "$bin" ] || { echo "build first: cmake --build build --target optimizer_steps" >&2; exit 1; }
"$py" -c 'import torch' 2>/dev/null || { echo "needs Debian's python3-torch" >&2; exit 1; }
if [ -n "${2:-}" ]; then
    outdir=$2
else
    outdir=$(mktemp -d /tmp/optimizer_check.XXXXXX)
    trap 'rm -rf "$outdir"' EXIT
fi
# OpenBLAS at its own kernels (this machine's environment pins Haswell ones) and one
# thread, as bench/vs_pytorch.sh runs PyTorch; PyTorch itself runs one thread. (PyTorch's
# float32 results change with these too: that is part of what the float64 column shows.)
# The deprecation warning of SequentialLR's scheduler.step(0) at the milestone is PyTorch's.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
    "$py" -W "ignore:The epoch parameter" bench/optimizer_check.py "$bin" "$outdir" "$device"

#!/usr/bin/env bash
# `mnistcl train --plan` prints the stages of one training step (and the epoch's last
# step, and an evaluation pass) and exits without training or writing anything. Checked
# for the default network, 784-1024-1024-10, batch 1, --batch full and sigmoid-MSE, on the
# CPU reference and on OpenCL with its CPU and its GPU code paths (MNISTCL_GPU_PATHS),
# against the stages the planner must choose there (docs/DESIGN.md, "One step, planned
# once"). With CI=true a missing OpenCL device fails the test; elsewhere it is skipped.
# usage: plan.sh PATH/TO/mnistcl
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
require_opencl "$bin"

# plan NAME DEVICE GPU_PATHS ARGS...: runs --plan into $tmp/NAME; checks it ran no epoch
plan() {
    local name=$1 dev=$2 paths=$3
    shift 3
    if MNISTCL_GPU_PATHS=$paths "$bin" train --plan --device "$dev" --save "$tmp/$name.st" \
        "$@" >"$tmp/$name" 2>&1 </dev/null; then
        ok "$name: --plan exits 0"
    else
        fail "$name: --plan failed:"; sed 's/^/    /' "$tmp/$name" | head -n 20
    fi
    ! grep -aq "^test accuracy\|^ *epoch " "$tmp/$name" || fail "$name: it trained"
    [ ! -e "$tmp/$name.st" ] || fail "$name: it wrote the model"
}

# step NAME: the stages of the plan's first step, one "operation kernel" pair a line
step() {
    awk '/^one training step/ {on = 1; next} on && /^$/ {exit}
         on && $1 ~ /^[0-9]+$/ {print $2, $3}' "$tmp/$1"
}

# has NAME WHAT EXPECTED: the first step's stages are exactly EXPECTED ("op kernel;...")
has() {
    local got
    got=$(step "$1" | paste -sd ';')
    if [ "$got" = "$3" ]; then ok "$1: $2"; else fail "$1: $2: want '$3', got '$got'"; fi
}

# the OpenCL device with its CPU paths (pixel lists, register-blocked GEMMs)
plan cl_default opencl 0
has cl_default "default net: two launches" \
    "sparse_forward_output csr_forward_output;sparse_backward_update csr_backward_update"
grep -aq "^the epoch's last step: 96 images" "$tmp/cl_default" || fail "cl_default: no last step"
grep -aq "^evaluation of the 10000 test images" "$tmp/cl_default" || fail "cl_default: no evaluation"
plan cl_deep opencl 0 --layers 784,1024,1024,10
has cl_deep "784-1024-1024-10" "sparse_forward csr_forward;gemm gemm_rb_nn;output_step output_step;gemm gemm_rb_tn;gemm gemm_rb_nt;gemm gemm_rb_tn;update param_update;sparse_backward_update csr_backward_update"
plan cl_batch1 opencl 0 --batch 1
has cl_batch1 "batch 1: the per-sample kernel" "sequential train_sequential"
grep -aq "one launch takes up to 4096 consecutive steps" "$tmp/cl_batch1" ||
    fail "cl_batch1: steps per launch not said"
plan cl_full opencl 0 --batch full
has cl_full "--batch full: chunks, one update" \
    "sparse_forward_output csr_forward_output;gemm gemm_rb_tn;sparse_grad csr_weight_grad;update param_update"
grep -aq "again for each of 7 more chunks of 8192 rows, the last of 2656; their weight gradients add" \
    "$tmp/cl_full" || fail "cl_full: the chunks are not described"
plan cl_mse opencl 0 --output sigmoid-mse --activation sigmoid
has cl_mse "sigmoid-MSE" \
    "sparse_forward_output csr_forward_output;sparse_backward_update csr_backward_update"
grep -aq "relu/softmax" "$tmp/cl_mse" && fail "cl_mse: plan of the wrong network"
grep -aq "sigmoid/sigmoid-mse" "$tmp/cl_mse" || fail "cl_mse: network not named"

# the GPU paths: gather + tiled GEMMs, no pixel lists
plan gpu_default opencl 1
has gpu_default "GPU paths, default net" \
    "gather gather_batch;gemm gemm_tiled_nn;output_step output_step;gemm gemm_tiled_tn;gemm gemm_tiled_tn;update param_update"
plan gpu_batch1 opencl 1 --batch 1
has gpu_batch1 "GPU paths, batch 1" "sequential train_sequential"

# the CPU reference plans as a CPU device does
plan cpu_default cpu 0
has cpu_default "reference, default net" \
    "sparse_forward_output cpu_sparse_forward_output;sparse_backward_update cpu_sparse_backward_update"
plan cpu_deep cpu 0 --layers 784,1024,1024,10
step cpu_deep | grep -q "^output_step cpu_output_step$" || fail "cpu_deep: no output step"
plan cpu_batch1 cpu 0 --batch 1
has cpu_batch1 "reference, batch 1" "sequential cpu_sequential"
plan cpu_full cpu 0 --batch full
grep -aq "more chunks" "$tmp/cpu_full" || fail "cpu_full: not chunked"
plan cpu_mse cpu 0 --output sigmoid-mse --activation sigmoid

finish

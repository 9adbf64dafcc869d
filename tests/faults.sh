#!/usr/bin/env bash
# OpenCL faults end cleanly, with a message and the documented exit code:
#  no platform at all (the ICD loader finds none), a kernel that fails to build (the build
#  log is printed, naming the file), a kernel source missing from MNISTCL_KERNEL_DIR, and
#  a network too large for the device.
# usage: faults.sh PATH/TO/mnistcl PATH/TO/kernels
set -u
bin=$1
kernels=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"
require_opencl "$bin"
mkdir -p "$tmp/no-icds"
expect 5 "no OpenCL platform or device found" env OCL_ICD_VENDORS="$tmp/no-icds" "$bin" devices
expect 5 "no OpenCL device found" env OCL_ICD_VENDORS="$tmp/no-icds" "$bin" train --device opencl
expect 0 "using the CPU reference backend" env OCL_ICD_VENDORS="$tmp/no-icds" "$bin" train \
    --epochs 1 --train-limit 500 --hidden 8

cp -r "$kernels" "$tmp/broken"
printf '\nkernel void broken(global float *x) { x[0] = undefined_name; }\n' >>"$tmp/broken/update.cl"
out=$(MNISTCL_KERNEL_DIR="$tmp/broken" "$bin" train --device opencl --epochs 1 2>&1)
rc=$?
if [ $rc -eq 5 ] && grep -q "kernel build log" <<<"$out" && grep -q "update.cl" <<<"$out" &&
    grep -q "undefined_name" <<<"$out" && grep -q "CL_BUILD_PROGRAM_FAILURE" <<<"$out"; then
    ok "exit 5  a kernel that does not build: the log names update.cl and the error"
else
    fail "broken kernel -> exit $rc:"
    sed 's/^/    /' <<<"$out" | head -20
fi
mkdir -p "$tmp/partial" && cp "$kernels/common.cl" "$tmp/partial/"
expect 4 "gather.cl: cannot open kernel source" env MNISTCL_KERNEL_DIR="$tmp/partial" "$bin" \
    train --device opencl
expect 6 "larger than the device allows" "$bin" train --device opencl --layers 784,100000,100000,10

finish

#!/usr/bin/env bash
# Runs a command with exactly one OpenCL implementation visible: the ICD loader is pointed
# (OCL_ICD_VENDORS, honoured by ocl-icd and by the Khronos loader) at a temporary folder
# holding only that vendor's .icd file, so the result does not depend on which other
# drivers are installed or in which order the loader lists them. For rusticl (Mesa) it
# also enables its llvmpipe CPU device, and only that (RUSTICL_ENABLE=llvmpipe).
# If the implementation or a device of it is missing, it fails under CI=true and is
# skipped (exit 77) elsewhere; otherwise it exits with the command's status.
# usage: on_icd.sh ICD_NAME COMMAND...   (ICD_NAME: pocl, rusticl, ... as in
#        /etc/OpenCL/vendors/ICD_NAME.icd, or $OPENCL_VENDOR_PATH/ICD_NAME.icd)
set -u
[ $# -ge 2 ] || { echo "usage: on_icd.sh ICD_NAME COMMAND..." >&2; exit 2; }
name=$1
shift

missing() {
    case "${CI:-}" in
        ""|0|false) echo "SKIP: $*"; exit 77 ;;
        *) echo "FAIL: $* (required in CI)"; exit 1 ;;
    esac
}

icd=${OPENCL_VENDOR_PATH:-/etc/OpenCL/vendors}/$name.icd
[ -f "$icd" ] || missing "no OpenCL implementation '$name' ($icd not found)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$icd" "$dir/"
export OCL_ICD_VENDORS=$dir
[ "$name" = rusticl ] && export RUSTICL_ENABLE=llvmpipe

# The device check: clinfo (installed by .ci/setup) lists the platforms the loader sees;
# without clinfo the test program's own check (no device: fail in CI, skip elsewhere) is
# the only one.
if command -v clinfo >/dev/null 2>&1; then
    devices=$(clinfo -l 2>/dev/null)
    grep -q 'Device #' <<<"$devices" ||
        missing "the OpenCL implementation '$name' ($(tr -d '\n' <"$icd")) has no device"
    echo "on_icd: $name only: $(tr '\n' ' ' <<<"$devices" | tr -s ' ')"
fi
"$@"

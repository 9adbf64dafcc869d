#!/usr/bin/env bash
# Runs a parity test program under oclgrind (an OpenCL device simulator that checks every
# memory access, API call and work-group synchronisation) at small sizes; passes when the
# test passes and oclgrind reports nothing. (--uninitialized is not used: oclgrind 21.10
# aborts on the LLVM `freeze` instruction.)
# usage: oclgrind.sh TEST_PROGRAM
set -u
command -v oclgrind >/dev/null || { echo "FAIL: oclgrind is not installed (Debian: oclgrind)"; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
MNISTCL_TEST_SMALL=1 MNISTCL_TEST_DEVICE=opencl oclgrind --check-api --data-races --log "$log" "$@"
rc=$?
if [ -s "$log" ]; then
    echo "FAIL: oclgrind reported:"
    head -n 60 "$log"
    exit 1
fi
[ $rc -eq 0 ] || { echo "FAIL: the test failed under oclgrind (exit $rc)"; exit 1; }
echo "oclgrind: no errors reported"

#!/usr/bin/env bash
# valgrind memcheck over a short train + save + load (eval) + predict run on the CPU
# reference backend: no invalid access, no definite or indirect leak.
# (OpenCL drivers are left out: pocl's JIT is beyond memcheck's patience and its own.)
# usage: valgrind.sh PATH/TO/mnistcl
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v valgrind >/dev/null || { echo "FAIL: valgrind is not installed (Debian: valgrind)"; exit 1; }
vg=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect
    --error-exitcode=99 --log-file="$tmp/vg.%p.log")
fails=0
check() {
    local what=$1
    shift
    "${vg[@]}" "$bin" "$@" >"$tmp/out.log" 2>&1
    local rc=$?
    if [ $rc -eq 99 ] || [ -n "$(cat "$tmp"/vg.*.log 2>/dev/null)" ]; then
        echo "FAIL: $what: memcheck reported:"; cat "$tmp"/vg.*.log; fails=$((fails + 1))
    elif [ $rc -ne 0 ] && [ "$what" != "a bad model file" ]; then
        echo "FAIL: $what: exit $rc"; cat "$tmp/out.log"; fails=$((fails + 1))
    else
        echo "ok  $what: no errors, no leaks"
    fi
    rm -f "$tmp"/vg.*.log
}
check "train + save" train --device cpu --hidden 16 --epochs 1 --train-limit 300 --save "$tmp/m.safetensors" \
    --checkpoint "$tmp/c.ckpt"
check "resume" train --device cpu --resume "$tmp/c.ckpt" --epochs 2 --save "$tmp/m2.safetensors"
check "eval (load)" eval --device cpu --model "$tmp/m.safetensors"
check "predict" predict --model "$tmp/m.safetensors" --index 3 --verbose
check "a bad model file" eval --device cpu --model /dev/null
[ $fails -eq 0 ] && echo "all checks passed" || { echo "FAILED: $fails check(s)"; exit 1; }

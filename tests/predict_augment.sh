#!/usr/bin/env bash
# `predict --augment-demo N`: distorted copies of an image from the augment operation, on
# the CPU reference and on OpenCL:
#  - without a model: the original and N copies side by side in the terminal (N + 1 framed
#    28-row digits, titled "original", "epoch 0" ...), and with --png one grid of the right
#    size (IHDR: display_png_grid_size, for 28 x 28 images 4 pixels a pixel);
#  - both backends print the very same digits (the op's results are the same bits);
#  - every distortion off gives copies equal to the original;
#  - with a model, each copy carries the model's guess; --random K with a %d pattern
#    writes K grids;
#  - --help lists the options; bad values get exit code 2.
# Without an OpenCL device the OpenCL half is skipped (failed in CI).
# usage: predict_augment.sh PATH/TO/mnistcl
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/lib.sh"

# the grid's size for n images of 28 x 28 (display.h: GRID_PAD 8, GRID_HEADER 44,
# GRID_LABEL 16; scale 4, cells 112 wide, ceil(sqrt(n)) a row)
grid_size() {
    local n=$1 g=1
    while [ $((g * g)) -lt "$n" ]; do g=$((g + 1)); done
    local r=$(((n + g - 1) / g))
    echo "$((8 + g * 120)) $((44 + r * (32 + 112 + 8) + 8))"
}
# the width and height a PNG's IHDR holds
png_size() {
    od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'
}

have_opencl=1
if ! "$bin" devices >/dev/null 2>&1; then
    case "${CI:-}" in
        "" | 0 | false) echo "SKIP (OpenCL part): no OpenCL device"; have_opencl=0 ;;
        *) fail "no OpenCL device in CI"; have_opencl=0 ;;
    esac
fi
devices=cpu
[ $have_opencl -eq 1 ] && devices="cpu opencl"

for dev in $devices; do
    out=$(COLUMNS=200 "$bin" predict --index 0 --augment-demo 5 --device "$dev" \
        --png "$tmp/$dev.png" 2>&1) || { fail "$dev: predict --augment-demo 5: $out"; continue; }
    [ "$(grep -o '┌' <<<"$out" | wc -l)" -eq 6 ] && ok "$dev: 6 framed digits" ||
        fail "$dev: $(grep -o '┌' <<<"$out" | wc -l) frames"
    [ "$(grep -c '^  │.*│ │.*│ │.*│$' <<<"$out")" -eq 56 ] && ok "$dev: 3 a line, 2 x 28 rows" ||
        fail "$dev: side-by-side rows"
    grep -q '^  original  .* epoch 0  .* epoch 1$' <<<"$out" && grep -q 'epoch 4$' <<<"$out" &&
        ok "$dev: titles original, epoch 0 .. 4" || fail "$dev: titles"
    grep -q '^test image 0, label 7$' <<<"$out" &&
        grep -q '^5 distortions on .*: shift 2 px, rotate 10 deg, scale 0.1, elastic 34/4, seed 0$' <<<"$out" &&
        ok "$dev: the image and the settings" || fail "$dev: title lines"
    grep -q "wrote $tmp/$dev.png" <<<"$out" &&
        [ "$(head -c 8 "$tmp/$dev.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] &&
        ok "$dev: a PNG" || fail "$dev: no PNG"
    [ "$(png_size "$tmp/$dev.png")" = "$(grid_size 6)" ] && ok "$dev: PNG $(grid_size 6 | tr ' ' x)" ||
        fail "$dev: PNG is $(png_size "$tmp/$dev.png"), want $(grid_size 6)"
    # the digits alone, for the comparison of the backends
    grep -v '^device: \|distortions on\|  wrote ' <<<"$out" >"$tmp/$dev.txt"
done
if [ $have_opencl -eq 1 ]; then
    cmp -s "$tmp/cpu.txt" "$tmp/opencl.txt" && ok "CPU reference and OpenCL draw the same copies" ||
        { fail "the backends' copies differ"; diff "$tmp/cpu.txt" "$tmp/opencl.txt" | head -n 10; }
fi

# every part off: each copy is the original (one image a line: the frames one after another)
for dev in $devices; do
    COLUMNS=60 "$bin" predict --index 3 --augment-demo 2 --device "$dev" --shift 0 --rotate 0 \
        --scale 0 --elastic-alpha 0 >"$tmp/off.txt" 2>&1 || fail "$dev: all off"
    grep '^  │' "$tmp/off.txt" | split -l 28 - "$tmp/off-"
    cmp -s "$tmp/off-aa" "$tmp/off-ab" && cmp -s "$tmp/off-aa" "$tmp/off-ac" &&
        [ "$(wc -l <"$tmp/off-aa")" -eq 28 ] && ok "$dev: all parts off: copies = original" ||
        fail "$dev: all parts off changed the image"
    rm -f "$tmp"/off-*
done

# with a model: the guesses; --random with a pattern: a grid per image
"$bin" train --device cpu --hidden 32 --epochs 1 --train-limit 3000 --save "$tmp/m.safetensors" \
    >"$tmp/train.log" 2>&1 || { cat "$tmp/train.log"; fail "training"; }
out=$(COLUMNS=200 "$bin" predict --model "$tmp/m.safetensors" --index 0 --augment-demo 2 \
    --device cpu 2>&1) || fail "with a model: $out"
[ "$(grep -oE 'guess [0-9]( ok| WRONG)' <<<"$out" | wc -l)" -eq 3 ] && ok "a guess under each" ||
    fail "guesses: $out"
"$bin" predict --model "$tmp/m.safetensors" --random 2 --seed 4 --augment-demo 1 --device cpu \
    --png "$tmp/r-%d.png" >/dev/null 2>&1 || fail "--random 2 --augment-demo 1"
[ "$(ls "$tmp"/r-*.png 2>/dev/null | wc -l)" -eq 2 ] && ok "--random 2 wrote 2 grids" ||
    fail "random grids"
for f in "$tmp"/r-*.png; do
    [ "$(png_size "$f")" = "$(grid_size 2)" ] || fail "$f is $(png_size "$f"), want $(grid_size 2)"
done

# help and bad values
out=$("$bin" predict --help 2>&1)
for opt in augment-demo device shift rotate scale elastic-alpha elastic-sigma augment-seed; do
    grep -q -- "--$opt " <<<"$out" || fail "--help lacks --$opt"
done
ok "--help lists the demo's options"
expect 2 "--augment-demo 65: must be between 0 and 64" "$bin" predict --index 0 --augment-demo 65
expect 2 "--elastic-sigma 20: must be between" "$bin" predict --index 0 --augment-demo 1 --elastic-sigma 20
expect 2 "--scale 1: must be between 0 and 0.9" "$bin" predict --index 0 --augment-demo 1 --scale 1
expect 2 "needs --model" "$bin" predict --index 0

finish

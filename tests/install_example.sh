#!/usr/bin/env bash
# The installed mnistcl, as a program embedding it sees it:
#  1. docs/LIBRARY.md shows docs/examples/classify.c verbatim;
#  2. `cmake --install BUILD --prefix TMP` puts there bin/mnistcl (which runs: --version
#     is the .pc's version), libmnistcl.so (soname link) and libmnistcl.a, every public
#     header (each compiles on its own with pkg-config's flags alone), mnistcl.pc,
#     the CMake package files and share/man/man1/mnistcl.1, and no test or benchmark;
#  3. the manual page has a subsection per command of `mnistcl --help`, names every
#     environment variable the sources read (getenv), and groff (when installed) formats
#     it without a warning;
#  4. docs/examples/classify.c, built against the installed copy only (pkg-config's flags,
#     linked to libmnistcl.so with an rpath, to libmnistcl.a, and through CMake's
#     find_package(mnistcl)), gives on a model trained by the installed mnistcl the guesses
#     of `mnistcl predict` for the same images, and their ten output values (within
#     0.001: predict prints three decimals), on the CPU reference and on OpenCL (that half
#     needs a device: require_opencl).
# usage: install_example.sh CMAKE BUILD_DIR SOURCE_DIR DATA_DIR
set -u
cmake=$1 build=$2 src=$3 data=$4
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$src/tests/lib.sh"
prefix=$tmp/prefix
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic)

# 1. the copy in docs/LIBRARY.md: the ```c block after the line naming the file
awk '/^<!-- docs\/examples\/classify\.c/ { marked = 1; next }
     marked && /^```c$/ { on = 1; next }
     on && /^```$/ { exit }
     on { print }' "$src/docs/LIBRARY.md" >"$tmp/from_md.c"
if [ -s "$tmp/from_md.c" ] && cmp -s "$tmp/from_md.c" "$src/docs/examples/classify.c"; then
    ok "docs/LIBRARY.md shows docs/examples/classify.c verbatim"
else
    fail "docs/LIBRARY.md's copy of docs/examples/classify.c differs:"
    diff "$src/docs/examples/classify.c" "$tmp/from_md.c" | head -n 20 | sed 's/^/    /'
fi

# 2. the install
if ! "$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL: cmake --install $build --prefix $prefix"
    exit 1
fi
pc=$(find "$prefix" -name mnistcl.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || { echo "FAIL: no lib*/pkgconfig/mnistcl.pc installed"; exit 1; }
export PKG_CONFIG_PATH=${pc%/mnistcl.pc}
unset PKG_CONFIG_LIBDIR
libdir=$(pkg-config --variable=libdir mnistcl)
[ "$(cd "$libdir" 2>/dev/null && pwd -P)" = "$(cd "${pc%/pkgconfig/mnistcl.pc}" && pwd -P)" ] &&
    ok "mnistcl.pc's libdir is its own folder's parent (${libdir#"$prefix"/})" ||
    fail "mnistcl.pc: libdir $libdir is not where the .pc is"
ver=$(pkg-config --modversion mnistcl)
[ "$("$prefix/bin/mnistcl" --version 2>&1)" = "mnistcl $ver" ] &&
    ok "installed bin/mnistcl --version: mnistcl $ver" ||
    fail "installed mnistcl --version: '$("$prefix/bin/mnistcl" --version 2>&1)', .pc says $ver"
so=$(readelf -d "$libdir/libmnistcl.so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$so" ] && [ -e "$libdir/$so" ] && [ -f "$libdir/libmnistcl.a" ] &&
    ok "libmnistcl.so (soname $so, installed) and libmnistcl.a" ||
    fail "libraries: $(ls "$libdir" | tr '\n' ' ')"
missing=""
for h in "$src"/include/mnistcl/*.h; do
    name=$(basename "$h")
    if ! cmp -s "$h" "$prefix/include/mnistcl/$name"; then
        missing="$missing $name"
    elif ! echo "#include <mnistcl/$name>" |
        "$cc" "${cflags[@]}" $(pkg-config --cflags mnistcl) -x c -c - -o /dev/null \
            2>"$tmp/header.log"; then
        missing="$missing $name(does not compile alone: $(head -n 1 "$tmp/header.log"))"
    fi
done
[ -z "$missing" ] && ok "every public header installed, each compiles on its own" ||
    fail "headers:$missing"
grep -q -- "$src" <<<"$(pkg-config --cflags --libs --static mnistcl)" &&
    fail "pkg-config's flags name the source tree: $(pkg-config --cflags --libs mnistcl)"
[ -f "$prefix/share/man/man1/mnistcl.1" ] && ok "share/man/man1/mnistcl.1" ||
    fail "no share/man/man1/mnistcl.1"
[ -f "$libdir/cmake/mnistcl/mnistclConfig.cmake" ] && ok "lib/cmake/mnistcl/mnistclConfig.cmake" ||
    fail "no mnistclConfig.cmake"
extra=$(cd "$prefix" && find . -type f -o -type l | grep -vE '^\./(bin/mnistcl|include/mnistcl/[a-z_]+\.h|share/man/man1/mnistcl\.1)$' |
    grep -vE '^\./lib[^/]*(/[^/]+)?/(libmnistcl\.(a|so[.0-9]*)|pkgconfig/mnistcl\.pc|cmake/mnistcl/mnistcl[A-Za-z-]*\.cmake)$')
[ -z "$extra" ] && ok "nothing else installed (no tests, no benchmarks)" ||
    fail "installed besides: $(tr '\n' ' ' <<<"$extra")"

# 3. the manual page
man=$prefix/share/man/man1/mnistcl.1
commands=$("$prefix/bin/mnistcl" --help | awk '/^commands:$/ { on = 1; next } on && /^$/ { exit }
                                             on { print $1 }')
lacking=""
for c in $commands; do
    grep -qxF ".SS \\fBmnistcl ${c//-/\\-}\\fR" "$man" || lacking="$lacking $c"
done
[ -n "$commands" ] && [ -z "$lacking" ] && ok "man page: a subsection per command ($(echo $commands))" ||
    fail "man page lacks commands:$lacking"
lacking=""
environment=$(sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$man")
for v in $(grep -rhoE 'getenv\("[A-Za-z0-9_]+"\)' "$src/host" | sed 's/getenv("\(.*\)")/\1/' | sort -u); do
    grep -qw -- "$v" <<<"$environment" || lacking="$lacking $v"
done
[ -z "$lacking" ] && ok "man page: ENVIRONMENT names every variable the sources read" ||
    fail "man page's ENVIRONMENT lacks:$lacking"
if command -v groff >/dev/null 2>&1; then
    warnings=$(groff -man -ww -z "$man" 2>&1)
    text=$(groff -man -Tascii -rLL=80n -P-cbou "$man" 2>/dev/null)
    [ -z "$warnings" ] && grep -q '^EXIT STATUS' <<<"$text" && grep -q -- '--epochs N' <<<"$text" &&
        ok "man page: groff formats it without a warning" ||
        fail "man page: groff says: $(head -n 5 <<<"$warnings")"
else
    echo "note: no groff, the man page's formatting is not checked"
fi

# 4. the example against the installed copy
"$prefix/bin/mnistcl" train --device cpu --epochs 1 --train-limit 3000 --data "$data" \
    --save "$tmp/m.st" >"$tmp/train.log" 2>&1 || { cat "$tmp/train.log"; echo "FAIL: training"; exit 1; }
example=$src/docs/examples/classify.c
"$cc" "${cflags[@]}" "$example" -o "$tmp/classify" $(pkg-config --cflags --libs mnistcl) \
    -Wl,-rpath,"$libdir" 2>"$tmp/cc.log" &&
    ok "classify.c built with pkg-config --cflags --libs mnistcl" ||
    { cat "$tmp/cc.log"; fail "cc classify.c \$(pkg-config --cflags --libs mnistcl)"; }
ldd "$tmp/classify" 2>/dev/null | grep -qF "$libdir/libmnistcl.so" &&
    ok "classify runs on the installed libmnistcl.so" ||
    fail "classify does not load $libdir/libmnistcl.so: $(ldd "$tmp/classify" 2>&1 | grep mnistcl)"
"$cc" "${cflags[@]}" "$example" -o "$tmp/classify_static" $(pkg-config --cflags mnistcl) \
    "$libdir/libmnistcl.a" -Wl,--as-needed $(pkg-config --static --libs mnistcl) 2>"$tmp/cc.log" &&
    ok "classify.c linked to libmnistcl.a with pkg-config --static --libs mnistcl" ||
    { cat "$tmp/cc.log"; fail "static link of classify.c"; }
readelf -d "$tmp/classify_static" 2>/dev/null | grep -q 'NEEDED.*libmnistcl' &&
    fail "classify_static still needs libmnistcl.so"
mkdir -p "$tmp/consumer"
cat >"$tmp/consumer/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(mnistcl 0.1 REQUIRED)
add_executable(classify_cmake "$example")
target_link_libraries(classify_cmake PRIVATE mnistcl::mnistcl)
add_executable(classify_cmake_static "$example")
target_link_libraries(classify_cmake_static PRIVATE mnistcl::mnistcl_static)
EOF
if "$cmake" -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" >"$tmp/consumer.log" 2>&1 &&
    "$cmake" --build "$tmp/consumer/build" >>"$tmp/consumer.log" 2>&1; then
    ok "find_package(mnistcl): mnistcl::mnistcl and mnistcl::mnistcl_static link classify.c"
else
    tail -n 20 "$tmp/consumer.log"
    fail "a CMake project using find_package(mnistcl)"
fi

# predict's guess and ten values for each image (the reference: computed on the host)
indices="0 1 7 42 1234 9999"
for i in $indices; do
    "$prefix/bin/mnistcl" predict --model "$tmp/m.st" --data "$data" --index "$i" 2>&1 | awk -v i="$i" '
        /^ +[0-9] │/ { for (f = NF; f > 0; f--) if ($f ~ /^[0-9]+\.[0-9]+$/) { v = v " " $f; break } }
        /guessed digit/ { g = $3; sub(/,$/, "", g) }
        END { print i, g, v }'
done >"$tmp/expected"
[ "$(awk 'NF == 12' "$tmp/expected" | wc -l)" -eq 6 ] ||
    { cat "$tmp/expected"; echo "FAIL: reading predict's answers"; exit 1; }

# check_run WHAT COMMAND...: COMMAND (classify ... INDEX...) gives predict's answers
check_run() {
    local what=$1 out
    shift
    out=$("$@" --model "$tmp/m.st" --data "$data" $indices 2>&1) ||
        { fail "$what: exit $?: $(tail -n 3 <<<"$out")"; return; }
    awk '/^image / { i = $2; sub(/,$/, "", i); order[++n] = i; v[i] = "" }
         /^  [0-9]+: / { v[i] = v[i] " " $2 }
         /^  guess: / { g[i] = $2 }
         END { for (k = 1; k <= n; k++) print order[k], g[order[k]], v[order[k]] }' <<<"$out" \
        >"$tmp/got"
    local verdict
    verdict=$(awk 'NR == FNR { e[$1] = $0; next }
        { split(e[$1], x, " ")
          if (!($1 in e)) { print "image " $1 " not asked for"; bad = 1; next }
          if (x[2] != $2) { print "image " $1 ": guess " $2 ", predict says " x[2]; bad = 1 }
          for (j = 3; j <= 12; j++) { d = $j - x[j]; if (d < 0) d = -d
              if (NF != 12 || d > 0.001) { print "image " $1 " output " j - 3 ": " $j " vs " x[j]; bad = 1; break } }
          n++ }
        END { if (n != 6) { print n + 0 " images answered, not 6"; bad = 1 }; exit bad }' \
        "$tmp/expected" "$tmp/got")
    if [ $? -eq 0 ]; then
        ok "$what: guesses and outputs of predict ($(awk '{ printf "%s%s", sep, $2; sep = " " }' "$tmp/got"))"
    else
        fail "$what: $(head -n 3 <<<"$verdict")"
    fi
    grep -q '^device: ' <<<"$out" && echo "    $(grep -m1 '^device: ' <<<"$out")"
}

check_run "classify (libmnistcl.so), --device cpu" "$tmp/classify" --device cpu
check_run "classify (libmnistcl.a), MNISTCL_DEVICE=cpu" env MNISTCL_DEVICE=cpu "$tmp/classify_static"
check_run "classify (find_package), --device cpu" "$tmp/consumer/build/classify_cmake" --device cpu
expect 2 "classify: abc is not an image index between 0 and 9999" \
    "$tmp/classify" --model "$tmp/m.st" --data "$data" --device cpu abc
expect 4 "classify: .*missing\.st" "$tmp/classify" --model "$tmp/missing.st" --device cpu 0

require_opencl "$prefix/bin/mnistcl"
check_run "classify (libmnistcl.so), --device opencl" "$tmp/classify" --device opencl
check_run "classify (libmnistcl.a), MNISTCL_DEVICE=opencl" env MNISTCL_DEVICE=opencl "$tmp/classify_static"
check_run "classify (find_package, static), --device opencl" \
    "$tmp/consumer/build/classify_cmake_static" --device opencl
finish

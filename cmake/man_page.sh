#!/bin/sh
# Writes the manual page mnistcl.1 from the hand-written template (docs/mnistcl.1.in)
# and the built tool's own help, so the page says what the program says:
#   @COMMAND_LIST@  the commands of `mnistcl --help`'s "commands:" section, with summaries
#   @COMMANDS@      a subsection per command: its `mnistcl COMMAND --help`, laid out
#                   (usage lines, paragraphs, "  --option ARG  text [default]" entries)
#   @EXIT_STATUS@   the "Exit codes:" paragraph of `mnistcl --help`, one entry per code
#   @VERSION@, @SOURCE_DIR@ (inside lines)
# Each placeholder but the last two stands alone on its line. The help is read with the
# MNISTCL_* variables unset (MNISTCL_DEVICE would change a shown default).
# usage: man_page.sh PATH/TO/mnistcl TEMPLATE SOURCE_DIR OUTPUT
set -eu
if [ $# -ne 4 ]; then
    echo "usage: man_page.sh PATH/TO/mnistcl TEMPLATE SOURCE_DIR OUTPUT" >&2
    exit 2
fi
bin=$1 template=$2 source_dir=$3 out=$4
for v in $(env | sed -n 's/^\(MNISTCL_[A-Za-z0-9_]*\)=.*/\1/p'); do
    unset "$v"
done
unset COLUMNS NO_COLOR
LC_ALL=C
export LC_ALL

die() {
    echo "man_page.sh: $*" >&2
    rm -f "$out.tmp" "$out.in"
    exit 1
}

# The awk functions every part uses: esc (troff escaping of text: backslash, hyphen,
# quote, grave accent; a leading dot guarded) and squeeze (runs of spaces to one).
awk_lib='
function esc(s,    r, i, c) {
    r = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") c = "\\e"
        else if (c == "-") c = "\\-"
        else if (c == "\047") c = "\\(aq"
        else if (c == "`") c = "\\(ga"
        r = r c
    }
    return r
}
function text_line(s) { if (s ~ /^[.\047]/) s = "\\&" s; print s }
function squeeze(s) { gsub(/  +/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s); return s }
'

main_help=$("$bin" --help) || die "$bin --help failed"
version=$("$bin" --version) || die "$bin --version failed"
commands=$(printf '%s\n' "$main_help" |
    awk '/^commands:$/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }')
[ -n "$commands" ] || die "$bin --help has no \"commands:\" section"
printf '%s\n' "$main_help" | grep -q '^Exit codes:' ||
    die "$bin --help has no \"Exit codes:\" paragraph"

# @COMMAND_LIST@: a tagged paragraph per command
command_list() {
    printf '%s\n' "$main_help" | awk "$awk_lib"'
        /^commands:$/ { on = 1; next }
        on && /^$/ { exit }
        on && /^  [a-z]/ {
            name = $1
            desc = $0; sub(/^  [^ ]+ +/, "", desc)
            print ".TP"; print "\\fB" esc(name) "\\fR"; text_line(esc(squeeze(desc)))
        }'
}

# @EXIT_STATUS@: "Exit codes: 0 ok, 1 error, ..., 130/143 stopped by ..." as entries
exit_status() {
    printf '%s\n' "$main_help" | awk "$awk_lib"'
        /^Exit codes:/ { on = 1; sub(/^Exit codes: */, "") }
        on && /^$/ { exit }
        on { all = all " " $0 }
        END {
            all = squeeze(all)
            while (all != "") {
                if (match(all, /, [0-9]/)) {
                    item = substr(all, 1, RSTART - 1); all = substr(all, RSTART + 2)
                } else {
                    item = all; all = ""
                }
                code = item; sub(/ .*/, "", code)
                desc = item; sub(/^[^ ]+ */, "", desc)
                print ".TP"; print "\\fB" esc(code) "\\fR"; text_line(esc(desc))
            }
        }'
}

# One command's --help on stdin, laid out: usage lines (continuations joined) with a
# hanging indent, paragraphs filled, a one-line paragraph ending in ":" as a heading,
# "  TAG  description" lines as tagged paragraphs (a TAG too long for its column runs
# into the description after one space: the column is the last entry's), lines
# indented further continuing the entry or paragraph before them.
help_to_man() {
    awk "$awk_lib"'
        function flush() {
            if (kind == "para") {
                print ".PP"
                if (lines == 1 && buf ~ /:$/) print "\\fI" esc(squeeze(buf)) "\\fR"
                else text_line(esc(squeeze(buf)))
            } else if (kind == "usage") {
                if (first_usage) print ".PP"
                first_usage = 0
                u = squeeze(buf); cmd = ""
                if (match(u, /^mnistcl [a-z][a-z0-9-]*/)) {
                    cmd = substr(u, 1, RLENGTH); u = substr(u, RLENGTH + 1)
                }
                print ".in +8n"; print ".ti -8n"
                text_line((cmd != "" ? "\\fB" esc(cmd) "\\fR" : "") esc(u))
                print ".in -8n"
            } else if (kind == "entry") {
                print ".TP"
                if (tag ~ /^-/) {
                    name = tag; arg = ""
                    if (match(tag, / /)) { name = substr(tag, 1, RSTART - 1); arg = substr(tag, RSTART + 1) }
                    print "\\fB" esc(name) "\\fR" (arg != "" ? " \\fI" esc(arg) "\\fR" : "")
                } else {
                    print "\\fB" esc(tag) "\\fR"
                }
                if (squeeze(buf) != "") text_line(esc(squeeze(buf)))
            }
            kind = ""; buf = ""; lines = 0
        }
        { sub(/\r$/, "") }
        /^[ \t]*$/ { flush(); in_usage = 0; desccol = 0; next }
        /^usage: / { flush(); kind = "usage"; in_usage = 1; first_usage = 1; buf = substr($0, 8); next }
        in_usage && /^ / {
            s = $0; sub(/^ +/, "", s)
            if (s ~ /^mnistcl /) { flush(); kind = "usage"; buf = s } else buf = buf " " s
            next
        }
        { in_usage = 0 }
        /^  [^ ]/ {
            flush(); kind = "entry"
            if (desccol > 3 && substr($0, desccol - 1, 1) != " ") {
                rest = substr($0, desccol - 1); i = index(rest, " ")
                if (i == 0) { tag = substr($0, 3); buf = "" }
                else { p = desccol - 1 + i - 1; tag = substr($0, 3, p - 3); buf = substr($0, p + 1) }
            } else if (match(substr($0, 3), /  +/)) {
                tag = substr($0, 3, RSTART - 1); buf = substr($0, 3 + RSTART + RLENGTH - 1)
                desccol = 2 + RSTART + RLENGTH
            } else {
                s = substr($0, 3); i = index(s, " ")
                if (i == 0) { tag = s; buf = "" } else { tag = substr(s, 1, i - 1); buf = substr(s, i + 1) }
            }
            next
        }
        /^   / {
            s = $0; sub(/^ +/, "", s)
            if (kind == "") kind = "para"
            buf = buf " " s; lines++
            next
        }
        {
            if (kind != "para") { flush(); kind = "para" }
            buf = buf " " $0; lines++
        }
        END { flush() }'
}

# @COMMANDS@: a subsection per command, its summary, then its help
command_sections() {
    for c in $commands; do
        help=$("$bin" "$c" --help) || die "$bin $c --help failed"
        [ -n "$help" ] || die "$bin $c --help printed nothing"
        summary=$(printf '%s\n' "$main_help" | awk -v c="$c" '
            /^commands:$/ { on = 1; next } on && /^$/ { exit }
            on && $1 == c { sub(/^  [^ ]+ +/, ""); print; exit }')
        printf '%s\n' "$c $summary" | awk "$awk_lib"'{
            c = $1; s = $0; sub(/^[^ ]+ */, "", s)
            print ".SS \\fBmnistcl " esc(c) "\\fR"
            print ".PP"; text_line(esc(squeeze(s)) ".")
        }'
        printf '%s\n' "$help" | help_to_man
    done
}

MAN_VERSION=$(printf '%s\n' "$version" | awk "$awk_lib"'{ print esc($0) }')
MAN_SOURCE_DIR=$(printf '%s\n' "$source_dir" | awk "$awk_lib"'{ print esc($0) }')
export MAN_VERSION MAN_SOURCE_DIR
awk '{
    v = ENVIRON["MAN_VERSION"]; s = ENVIRON["MAN_SOURCE_DIR"]
    while ((i = index($0, "@VERSION@")) > 0) $0 = substr($0, 1, i - 1) v substr($0, i + 9)
    while ((i = index($0, "@SOURCE_DIR@")) > 0) $0 = substr($0, 1, i - 1) s substr($0, i + 12)
    print }' "$template" >"$out.in" || die "cannot read $template or write $out.in"
{
    while IFS= read -r l || [ -n "$l" ]; do
        case $l in
        @COMMAND_LIST@) command_list ;;
        @COMMANDS@) command_sections ;;
        @EXIT_STATUS@) exit_status ;;
        *) printf '%s\n' "$l" ;;
        esac
    done <"$out.in"
} >"$out.tmp" || die "cannot write $out.tmp"
rm -f "$out.in"
mv "$out.tmp" "$out" || die "cannot rename $out.tmp to $out"

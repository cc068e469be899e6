#!/bin/sh
# tests/check-man.sh - render the man pages with every warning on; any
# warning fails.  Also checks that the pages document what the code has
# (the command's options, the environment variables, the probes).
# Prints TAP.  Skips when neither man nor groff is installed.
#
# usage: tests/check-man.sh [PAGE...]   (default: the pages in man/)

srcdir=${PYUSDT_TEST_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
if [ $# -eq 0 ]; then
    set -- "$srcdir/man/pyusdt.1" "$srcdir/man/pyusdt-flamegraph.1" \
        "$srcdir/man/pyusdt.7"
fi

have() { command -v "$1" >/dev/null 2>&1; }

if ! have man && ! have groff; then
    echo "1..0 # SKIP neither man nor groff is installed"
    exit 0
fi

n=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-man.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    sed 's/^/# /' "$tmp/out"
}
skip() {
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2"
}
# check NAME COMMAND...: ok when COMMAND succeeds and prints nothing on
# stderr (its stdout is thrown away).
check() {
    name=$1
    shift
    if "$@" 2>"$tmp/out" >/dev/null && ! [ -s "$tmp/out" ]; then
        ok "$name"
    else
        echo "(exit status $?)" >>"$tmp/out"
        not_ok "$name"
    fi
}

# man-db's check, as lintian runs it.
man_warnings() {
    LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
        man --warnings -E UTF-8 -l -Tutf8 -Z "$1"
}
# groff with all warnings.
groff_warnings() {
    LC_ALL=C.UTF-8 groff -ww -z -man -Tutf8 "$1"
}
# The rendered page fits in 80 columns (examples included).
fits_80() {
    LC_ALL=C.UTF-8 MANWIDTH=80 MAN_KEEP_FORMATTING= \
        man -E UTF-8 -l "$1" 2>&1 | col -bx >"$tmp/text" || return 1
    if LC_ALL=C.UTF-8 grep -nE '^.{81,}' "$tmp/text" >&2; then
        return 1
    fi
}
# `documents PAGE WORD...`: each WORD appears in the page's source.
documents() {
    page=$1
    shift
    missing=
    for w in "$@"; do
        # roff writes a minus as \-
        pat=$(printf '%s' "$w" | sed 's/-/\\\\-/g')
        grep -q -e "$pat" "$page" || missing="$missing $w"
    done
    if [ -n "$missing" ]; then
        echo "not documented:$missing" >&2
        return 1
    fi
}

# `same_list A B`: two lists of words are equal.
same_list() {
    [ "$1" = "$2" ] && return 0
    echo "in scripts/: $1" >&2
    echo "in the page: $2" >&2
    return 1
}

for page in "$@"; do
    base=$(basename "$page")
    if [ ! -r "$page" ]; then
        echo "cannot read $page" >"$tmp/out"
        not_ok "$base: readable"
        continue
    fi
    if have man; then
        check "$base: man --warnings prints nothing" man_warnings "$page"
        if have col; then
            check "$base: fits in 80 columns" fits_80 "$page"
        else
            skip "$base: fits in 80 columns" "col is not installed"
        fi
    else
        skip "$base: man --warnings prints nothing" "man is not installed"
        skip "$base: fits in 80 columns" "man is not installed"
    fi
    if have groff; then
        check "$base: groff -ww prints nothing" groff_warnings "$page"
    else
        skip "$base: groff -ww prints nothing" "groff is not installed"
    fi
    if have lexgrog; then
        # the NAME line that whatis and apropos read (lintian checks it)
        check "$base: lexgrog reads the NAME section" lexgrog "$page"
    else
        skip "$base: lexgrog reads the NAME section" "lexgrog is not installed"
    fi

    # What the page must cover, read from the code where it is defined.
    case $base in
    pyusdt.1)
        cli=$srcdir/python/pyusdt/cli.py
        settings=$srcdir/src/settings.c
        # the help text: from "HELP = " to its closing quotes
        help=$(sed -n '/^HELP = /,/^"""/p' "$cli")
        opts=$(printf '%s\n' "$help" |
            grep -oE '^ +-(-?[A-Za-z][-A-Za-z]*)(, --[-a-z]+)?' |
            tr ',' '\n' | tr -d ' ' | sort -u)
        vars=$( {
            grep -oE '"PYUSDT_[A-Z_]+"' "$settings" | tr -d '"'
            printf '%s\n' "$help" | grep -oE '^  [A-Z][A-Z_]+ ' | tr -d ' '
        } | sort -u)
        check "$base: documents every option of pyusdt --help ($(echo $opts))" \
            documents "$page" $opts
        check "$base: documents every environment variable ($(echo $vars))" \
            documents "$page" $vars
        ;;
    pyusdt-flamegraph.1)
        opts=$(sed -n 's/.*p.add_argument("\(--[a-z]*\)".*/\1/p' \
            "$srcdir/python/pyusdt-flamegraph.in")
        check "$base: documents every option ($(echo $opts))" \
            documents "$page" $opts
        ;;
    pyusdt.7)
        # the probe list (PYUSDT_FOR_EACH_PROBE) and STACK_LAYOUT
        probes=$( {
            sed -n 's/^ *X(\([A-Z_]*\),.*/\1/p' "$srcdir/src/pyusdt-probes.h"
            grep -oE 'pyusdt_[A-Z_]+_semaphore;' "$srcdir/src/pyusdt-probes.h" |
                sed 's/^pyusdt_//; s/_semaphore;$//'
        } | sort -u)
        if [ -z "$probes" ]; then
            echo "no probe found in src/pyusdt-probes.h" >"$tmp/out"
            not_ok "$base: documents every probe"
            continue
        fi
        check "$base: documents every probe ($(echo $probes))" \
            documents "$page" $probes
        # the SCRIPTS section and scripts/*.bt.in name the same scripts
        shipped=$(cd "$srcdir/scripts" 2>/dev/null && ls *.bt.in 2>/dev/null |
            sed 's/\.in$//' | sort | tr '\n' ' ')
        listed=$(sed -n '/^\.SH SCRIPTS/,/^\.SH /p' "$page" |
            sed -n 's/^\.BR* \([A-Za-z0-9_-]*\.bt\)\( .*\)*$/\1/p' | sort | tr '\n' ' ')
        check "$base: lists the installed scripts ($shipped)" \
            same_list "$shipped" "$listed"
        ;;
    esac
done

echo "1..$n"
[ "$failed" = 0 ]

#!/bin/sh
# configure stops with one clear line for each missing build requirement:
# a Python older than 3.12, no sys/sdt.h, no Check.  Prints TAP.
top_srcdir=${PYUSDT_TEST_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
python=${PYTHON:-python3}
if [ -f "$top_srcdir/config.status" ]; then
    # configure refuses a second build directory once the source tree is
    # configured in place (as rpmbuild does)
    echo "1..0 # SKIP the source tree is configured in place"
    exit 0
fi
tmp=$(mktemp -d /tmp/pyusdt-configure.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

# expect NAME WANT-LINE [VAR=VALUE...]: configure fails, and its last line
# of output is exactly WANT-LINE
expect() {
    name=$1 want=$2
    shift 2
    n=$((n + 1))
    mkdir -p "$tmp/b$n"
    if (cd "$tmp/b$n" && env "$@" "$top_srcdir/configure" >out 2>err); then
        echo "not ok $n - $name: configure succeeded"
        failed=1
        return
    fi
    got=$(tail -n 1 "$tmp/b$n/err")
    if [ "$got" = "$want" ]; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name"
        echo "# got:  $got"
        echo "# want: $want"
        failed=1
    fi
}

# an interpreter that says it is Python 3.11.2
cat >"$tmp/python3.11" <<'PY'
#!/bin/sh
case "$2" in
*sys.exit*) exit 1 ;;
*version_info*) echo 3.11.2 ;;
esac
PY
chmod +x "$tmp/python3.11"

expect "Python 3.11 is refused, naming the version found and needed" \
    "configure: error: $tmp/python3.11 is Python 3.11.2; pyusdt needs Python 3.12 or later (sys.monitoring): set PYTHON=/usr/bin/python3.X" \
    PYTHON="$tmp/python3.11"
expect "a missing sys/sdt.h names the package to install" \
    "configure: error: sys/sdt.h not found: install systemtap-sdt-dev (Debian) or systemtap-sdt-devel (Fedora)" \
    PYTHON="$python" ac_cv_header_sys_sdt_h=no
expect "a missing Check names the package to install" \
    "configure: error: Check not found by pkg-config: install check (Debian) or check-devel (Fedora), or configure --without-check" \
    PYTHON="$python" PKG_CONFIG_LIBDIR="$tmp/none" PKG_CONFIG_PATH=
echo "1..$n"
exit $failed

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
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# a python3.X-config of another interpreter (another extension suffix)
cat >"$tmp/other-config" <<'SH'
#!/bin/sh
case "$1" in
--includes) echo "-I/usr/include/python3.99 -I/usr/include/python3.99" ;;
--extension-suffix) echo ".cpython-399-x86_64-linux-gnu.so" ;;
esac
SH
chmod +x "$tmp/other-config"
pypath=$(command -v "$python")
pyinc=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
pysuffix=$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
expect "a python-config of another interpreter is refused, naming both" \
    "configure: error: $tmp/other-config (.cpython-399-x86_64-linux-gnu.so, -I/usr/include/python3.99) does not belong to $pypath ($pysuffix, -I$pyinc): set PYTHON_CONFIG to $pypath's python$pyver-config" \
    PYTHON="$pypath" PYTHON_CONFIG="$tmp/other-config"
# an interpreter with no python3.X-config beside it (a copy elsewhere)
mkdir -p "$tmp/bin"
ln -s "$pypath" "$tmp/bin/python$pyver"
expect "a missing python3.X-config names the package to install" \
    "configure: error: python$pyver-config for $tmp/bin/python$pyver not found: install python$pyver-dev (Debian) or python3-devel (Fedora), or set PYTHON_CONFIG" \
    PYTHON="$tmp/bin/python$pyver"
echo "1..$n"
exit $failed

#!/bin/sh
# The extension module exports its entry point, PyInit__pyusdt, and
# nothing else: its internal functions cannot clash with another
# library's.  Prints TAP.
builddir=${PYUSDT_TEST_BUILDDIR:-.}
so=$builddir/src/.libs/_pyusdt${PYUSDT_TEST_EXT_SUFFIX:-.so}
if ! command -v nm >/dev/null; then
    echo "1..0 # SKIP needs nm (binutils)"
    exit 0
fi
got=$(nm -D --defined-only "$so" | awk '{ print $NF }' | sort | tr '\n' ' ')
if [ "$got" = "PyInit__pyusdt " ]; then
    echo "ok 1 - $(basename "$so") exports only PyInit__pyusdt"
    status=0
else
    echo "not ok 1 - $(basename "$so") exports only PyInit__pyusdt"
    echo "# got: $got"
    status=1
fi
echo "1..1"
exit $status

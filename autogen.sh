#!/bin/sh
# Generate configure and Makefile.in from a git checkout (tarballs have them).
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
# automake ships the TAP driver but installs it only on request
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/
autoreconf -fi

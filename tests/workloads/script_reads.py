"""System calls with known counts (syscalls.bt): reader() makes N read()
calls on a pipe (N = argv[1], default 12), nap() one clock_nanosleep()."""
import os
import sys
import time


def reader(fd, n):
    for i in range(n):
        os.read(fd, 1)


def nap():
    time.sleep(0.02)


def main(n):
    r, w = os.pipe()
    os.write(w, b"x" * n)
    reader(r, n)
    nap()


main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)

"""More system calls than syscalls.bt keeps rows for: N functions (N =
argv[1]), f0 to fN-1, defined in this file, each making one getppid()
call, called in that order."""
import os
import sys

import pyusdt  # noqa: F401 (traced system-wide)


def define(n):
    src = "".join("def f%d():\n    os.getppid()\n" % i for i in range(n))
    space = {"os": os}
    exec(compile(src, __file__, "exec"), space)
    return [space["f%d" % i] for i in range(n)]


def main(n):
    for f in define(n):
        f()


main(int(sys.argv[1]))

"""What the pyusdt command's parts share: its name, bad usage, and how a
failure is reported (one line on stderr, and an exit status)."""

import sys

PROG = "pyusdt"


class UsageError(Exception):
    pass


def fail(message, status):
    print("%s: %s" % (PROG, message), file=sys.stderr)
    return status

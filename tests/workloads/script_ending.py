"""How a program ends, for pyusdt --trace (test-scripts): its threads and
its atexit handlers run after the main module and are traced to the end;
a child forked by it that ends with sys.exit() leaves the parent's
bpftrace alone.

last() runs 3 times in a thread the main module does not join, and once
in an atexit handler; the forked child calls child() and exits 4.  The
parent prints the child's status and exits 3.
"""
import atexit
import os
import sys
import threading
import time

import pyusdt  # noqa: F401  (traced from here on)


def last(n):
    # time of its own, which keeps it near the top of top.bt's report
    time.sleep(0.02)
    return n + 1


def child():
    return 4


def worker():
    for i in range(3):
        time.sleep(0.1)
        last(i)


def at_exit():
    time.sleep(0.05)
    last(99)


atexit.register(at_exit)
# the fork comes first: a threaded program's fork warns, and the warning
# machinery's many functions would crowd the report
pid = os.fork()
if pid == 0:
    sys.exit(child())
_, status = os.waitpid(pid, 0)
print("child exited", os.waitstatus_to_exitcode(status))
threading.Thread(target=worker).start()
sys.exit(3)

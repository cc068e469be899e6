"""A program driven over stdin (like ctl.py) that forks on request.

Commands, one a line, each answered by one JSON line:
  state          pyusdt's state, the events of its tool, the warnings so far
  work N         call work() N times
  fork           os.fork(): the child answers ({"child": pid, ...state}) and
                 takes over the conversation until "exit"; the parent waits
                 for it, then answers {"reaped": pid, "status": N, ...state}
  forkmany N     fork N children that exit at once with status i % 7
  cfork          fork with libc's fork(), bypassing os.fork()'s hooks; the
                 child ends with sys.exit(5) (atexit runs)
  thread         start a thread that waits; "unthread" ends it
  exit N         sys.exit(N)
Warnings of any category are recorded (never printed) and reported.
With --logging, logging is imported after pyusdt: it adds a Python
after_in_parent fork hook.
"""
import os
import sys
import threading
import time
import warnings

from serve import pyusdt_state, run_work, serve

caught = []


def record(message, category, *args, **kwargs):
    caught.append("%s: %s" % (category.__name__, message))


warnings.simplefilter("always")
warnings.showwarning = record

import pyusdt  # noqa: E402

if "--logging" in sys.argv:
    import logging  # noqa: E402,F401


def state():
    st = pyusdt_state(pyusdt)
    st["warnings"] = list(caught)
    st["pid"] = os.getpid()
    return st


def cfork():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pid = libc.fork()
    if pid == 0:
        sys.exit(5)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def fork():
    pid = os.fork()
    if pid == 0:
        # the child answers, and goes on serving
        return dict(state(), child=os.getpid())
    _, status = os.waitpid(pid, 0)
    return dict(state(), reaped=pid, status=os.waitstatus_to_exitcode(status))


def forkmany(n):
    statuses = []
    for i in range(int(n)):
        pid = os.fork()
        if pid == 0:
            os._exit(i % 7)
        _, status = os.waitpid(pid, 0)
        statuses.append(os.waitstatus_to_exitcode(status))
    return dict(state(), statuses=statuses)


waiter = None
stop_waiting = threading.Event()


def thread():
    global waiter
    stop_waiting.clear()
    waiter = threading.Thread(target=stop_waiting.wait)
    waiter.start()
    return {"threads": threading.active_count()}


def unthread():
    stop_waiting.set()
    tid = waiter.native_id
    waiter.join()
    # join() returns a little before the kernel stops counting the
    # thread (the count os.fork() warns on)
    while os.path.exists("/proc/self/task/%d" % tid):
        time.sleep(0.001)
    caught.clear()
    return {"threads": threading.active_count()}


def exit_(n):
    sys.exit(int(n))


serve({"state": state, "work": run_work, "fork": fork, "forkmany": forkmany,
       "cfork": lambda: dict(state(), status=cfork()), "thread": thread,
       "unthread": unthread, "exit": exit_})

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
import json
import os
import sys
import threading
import time
import warnings

caught = []


def record(message, category, *args, **kwargs):
    caught.append("%s: %s" % (category.__name__, message))


warnings.simplefilter("always")
warnings.showwarning = record

import pyusdt  # noqa: E402

if "--logging" in sys.argv:
    import logging  # noqa: E402,F401


def work(i):
    return i + 1


def state():
    st = pyusdt.state()
    st["attached"] = list(st["attached"])
    st["enabled"] = list(st["enabled"])
    tool = st["tool_id"]
    st["events"] = sys.monitoring.get_events(tool) if tool is not None else 0
    st["warnings"] = list(caught)
    st["pid"] = os.getpid()
    return st


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def cfork():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pid = libc.fork()
    if pid == 0:
        sys.exit(5)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


waiter = None
stop_waiting = threading.Event()
while True:
    line = sys.stdin.readline()
    if not line:
        break
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "state":
        reply(state())
    elif cmd[0] == "work":
        total = 0
        for i in range(int(cmd[1])):
            total += work(i)
        reply({"done": int(cmd[1]), "total": total})
    elif cmd[0] == "fork":
        pid = os.fork()
        if pid == 0:
            reply(dict(state(), child=os.getpid()))
            continue
        _, status = os.waitpid(pid, 0)
        reply(dict(state(), reaped=pid,
                   status=os.waitstatus_to_exitcode(status)))
    elif cmd[0] == "forkmany":
        statuses = []
        for i in range(int(cmd[1])):
            pid = os.fork()
            if pid == 0:
                os._exit(i % 7)
            _, status = os.waitpid(pid, 0)
            statuses.append(os.waitstatus_to_exitcode(status))
        reply(dict(state(), statuses=statuses))
    elif cmd[0] == "cfork":
        reply(dict(state(), status=cfork()))
    elif cmd[0] == "thread":
        stop_waiting.clear()
        waiter = threading.Thread(target=stop_waiting.wait)
        waiter.start()
        reply({"threads": threading.active_count()})
    elif cmd[0] == "unthread":
        stop_waiting.set()
        tid = waiter.native_id
        waiter.join()
        # join() returns a little before the kernel stops counting the
        # thread (the count os.fork() warns on)
        while os.path.exists("/proc/self/task/%d" % tid):
            time.sleep(0.001)
        caught.clear()
        reply({"threads": threading.active_count()})
    elif cmd[0] == "exit":
        sys.exit(int(cmd[1]))

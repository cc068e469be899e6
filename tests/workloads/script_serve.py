"""A long-running program for attaching by PID (test-scripts): it reads
commands on stdin and replies with one JSON line each.

    state        pyusdt's state, and the sys.monitoring events of its tool
    run NAME     run one of the workloads below, in this process
    quit         exit
"""
import json
import os
import sys

import pyusdt


def a(n):
    t = 0
    for i in range(n):
        t += i
    return t


def b(n):
    return a(n) + 1


def work():
    for i in range(100):
        a(200)
    for i in range(50):
        b(200)


def total(n):
    t = 0
    for i in range(n):
        t += i
    return t


def lines():
    for k in range(5):
        total(100)


def reader(fd, n):
    for i in range(n):
        os.read(fd, 1)


def reads():
    r, w = os.pipe()
    os.write(w, b"x" * 7)
    reader(r, 7)
    os.close(r)
    os.close(w)


RUN = {"work": work, "lines": lines, "reads": reads}


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "state":
        st = pyusdt.state()
        st["attached"] = list(st["attached"])
        st["enabled"] = list(st["enabled"])
        tool = st["tool_id"]
        st["events"] = (sys.monitoring.get_events(tool)
                        if tool is not None else 0)
        reply(st)
    elif cmd[0] == "run":
        RUN[cmd[1]]()
        reply({"done": cmd[1]})
    elif cmd[0] == "quit":
        reply({"bye": True})
        break

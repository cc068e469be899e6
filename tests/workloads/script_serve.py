"""A long-running program for attaching by PID (test-scripts): it reads
commands on stdin and replies with one JSON line each.

    state        pyusdt's state, and the sys.monitoring events of its tool
    run NAME     run one of the workloads below, in this process
    quit         exit
"""
import os

import pyusdt
from serve import Stop, pyusdt_state, serve


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


def run(name):
    RUN[name]()
    return {"done": name}


def quit_():
    raise Stop({"bye": True})


serve({"state": lambda: pyusdt_state(pyusdt), "run": run, "quit": quit_})

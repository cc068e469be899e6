"""A traced run for valgrind (tests/in-root/valgrind).

A uprobe's breakpoint kills a program under valgrind (it runs the int3 as
its own SIGTRAP), so this program is its own tracer without uprobes: it
raises the semaphores of every probe in its own memory (as a tracer
without kernel reference counters would), waits until pyusdt's poller has
switched the events on, runs code that reaches every callback and every
kind of value and name (hostile values, odd names, generators, coroutines,
exceptions, threads, a fork, MISSING arguments), lowers the semaphores,
waits until the events are off, and exits.  Prints "ok" lines."""
import asyncio
import os
import sys
import threading
import time

import pyusdt
import uprobes

ALL = list(pyusdt.PROBES)


def wait(want):
    deadline = time.monotonic() + 60
    while sorted(pyusdt.state()["enabled"]) != sorted(want):
        if time.monotonic() > deadline:
            sys.exit("events did not become %r: %r" % (want, pyusdt.state()))
        time.sleep(0.01)


def gen(n):
    for i in range(n):
        x = yield i
        if x:
            yield x


async def leaf(i):
    await asyncio.sleep(0)
    return i


async def co():
    return sum(await asyncio.gather(*(leaf(i) for i in range(5))))


def thrower():
    raise KeyError("k")


def work(i):
    return {"i": i, "l": [i, (i,), {i}], "s": "x" * i, "b": b"y" * i,
            "f": i / 3, "c": complex(i, 1), "big": 10 ** (i * 10)}


def threaded():
    for i in range(50):
        work(i)


def main():
    sem = uprobes.Semaphores(os.getpid(), pyusdt.LIBRARY, ALL)
    sem.raise_()
    wait(ALL)
    print("ok events on:", ",".join(sorted(pyusdt.state()["enabled"])))
    for i in range(30):
        work(i)
    g = gen(3)
    next(g)
    g.send(7)
    try:
        g.throw(ValueError("in"))
    except ValueError:
        pass
    print("ok coroutines", asyncio.run(co()))
    for _ in range(5):
        try:
            thrower()
        except KeyError:
            pass
    threads = [threading.Thread(target=threaded) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import hostile
    import odd_names
    hostile.main()
    for k, case in enumerate(odd_names.CASES):
        odd_names.make(k, *case)()
    mon = sys.monitoring
    tool = pyusdt.state()["tool_id"]
    for event in (mon.events.PY_START, mon.events.CALL, mon.events.LINE,
                  mon.events.PY_RETURN):
        cb = mon.register_callback(tool, event, None)
        mon.register_callback(tool, event, cb)
        cb()
        cb(mon.MISSING, mon.MISSING, mon.MISSING, mon.MISSING)
        cb("not code", 10 ** 30)
    pid = os.fork()
    if pid == 0:
        for i in range(10):
            work(i)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("ok fork", os.waitstatus_to_exitcode(status))
    sem.lower()
    wait([])
    print("ok events off")


main()

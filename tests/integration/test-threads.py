"""Threads: 8 threads call Python functions while a
tracer attaches and detaches 200 times.  While attached, every event of
every thread is counted (exact, balanced entries and exits per thread), the
program neither crashes nor changes, and its memory is stable at the end.

Attach/detach cycles use a perf uprobe event (tests/lib/uprobes.py) on
one worker thread at a time (a per-thread count of PY_START, or of
PY_RETURN; the semaphore goes up for the whole process): that worker runs
1000 calls while the seven others keep calling functions.  Then bpftrace,
by PID, counts every worker's calls at once, entries and exits per
thread."""

import os
import time

import uprobes
from pyusdttest import (LIBRARY, TAP, Driven, attach_pid, parse_maps,
                        python_env, require_tracing)

CYCLES = 200
ROUND = 1000
PROBES = ["PY_START", "PY_RETURN"]


def main():
    tap = TAP()
    require_tracing(tap, uprobes.missing)
    table = uprobes.usdt_probes(LIBRARY)
    prog = Driven("attach_threads.py", env=python_env(PYUSDT_CHECK_MSEC=2))
    tids = prog.ask("tids")
    tap.eq(len(set(tids)), 8, "8 worker threads")
    bad = []
    mem = {}
    slow_enable = slow_disable = 0.0
    t_start = time.monotonic()
    for cycle in range(CYCLES):
        # thread k, counted on one probe: PY_START, PY_RETURN in turn
        # (closing a uprobe event takes the kernel about 0.1 s: one a cycle)
        k = cycle % 8
        p = PROBES[(cycle // 8) % 2]
        prog.ask("quiet %d" % k)
        tracer = uprobes.Tracer(LIBRARY, [p], pids=[tids[k]])
        tracer.table = table
        tracer.attach()
        ok, st = prog.wait_state("enabled", [p])
        if not ok:
            bad.append((cycle, "%s not on" % p, st))
            tracer.detach()
            break
        prog.ask("round %d %d" % (k, ROUND))
        got = tracer.counts()[(p, tids[k])]
        tracer.detach()
        if got != ROUND:
            bad.append((cycle, "thread %d: %d %s" % (k, got, p)))
        ok, st = prog.wait_state("enabled", [])
        if not ok:
            bad.append((cycle, "events not off", st))
            break
        prog.ask("churn %d" % k)
        if cycle + 1 in (25, CYCLES):
            mem[cycle + 1] = prog.ask("mem")
    took = time.monotonic() - t_start
    tap.eq(bad, [], "%d attach/detach cycles, 8 threads calling functions: "
           "the traced thread's %d calls counted exactly in every cycle, "
           "each thread 25 times, PY_START and PY_RETURN in turn (%.0f s)"
           % (CYCLES, ROUND, took))

    # every thread at once, by bpftrace
    for n in range(2):
        bt = attach_pid(prog.pid, PROBES)
        ok, st = prog.wait_state("enabled", PROBES)
        reply = prog.ask("roundall %d" % ROUND)
        maps = parse_maps(bt.stop())
        per = {}
        for (p, tid), hits in maps.get("c", {}).items():
            per.setdefault(int(tid), {})[p] = hits
        tap.eq((ok, reply["done"], per),
               (True, ROUND, {t: {"PY_START": ROUND, "PY_RETURN": ROUND}
                              for t in tids}),
               "bpftrace by PID, run %d: every one of the 8 threads' %d "
               "calls counted, entries and exits balanced" % (n + 1, ROUND))
        ok, st = prog.wait_state("enabled", [])
        tap.ok(ok, "bpftrace run %d: events off after detach" % (n + 1), st)

    if len(mem) == 2:
        a, b = mem[25], mem[CYCLES]
        # Under AddressSanitizer (the sanitize stage) freed memory stays in
        # its quarantine: RSS says nothing there; the other stages check it.
        if "libasan" not in os.environ.get("LD_PRELOAD", ""):
            tap.ok(b["rss"] - a["rss"] <= 1024,
                   "RSS stable: %d KiB after 25 cycles, %d KiB after %d (at "
                   "most 1 MiB more)" % (a["rss"], b["rss"], CYCLES))
        tap.ok(b["blocks"] - a["blocks"] <= 100,
               "Python heap stable: %d allocated blocks after 25 cycles, "
               "%d after %d (a leak of one object per cycle would add %d)"
               % (a["blocks"], b["blocks"], CYCLES, CYCLES - 25))
    else:
        tap.ok(False, "memory measured after 25 and %d cycles" % CYCLES, mem)
    reply = prog.ask("exit")
    status, err = prog.finish()
    tap.eq((reply, status, err), ({"bye": True}, 0, ""),
           "the program stops its threads and exits 0, silent")
    tap.done()


main()

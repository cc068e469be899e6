"""fork and multiprocessing: a program using pyusdt forks as without it.

os.fork() in a program using pyusdt emits no "multi-threaded" warning (the
poller is stopped across the fork and restarted after os.fork() returns,
also when another module has a Python fork hook), the parent keeps working
and is traceable, the child is traceable by its own PID with every event
counted; a fork made by C code (not os.fork) neither hangs nor crashes at
exit; multiprocessing with fork, forkserver and spawn gives the same
results traced and untraced, and every child's calls are counted."""

import json
import subprocess
import time

from pyusdttest import (PYTHON, TAP, Bpftrace, Driven, attach_pid, parse_maps,
                        per_probe, probe, python_env, require_tracing,
                        workload_normalized)

THREAD_WARNING = "DeprecationWarning: This process (pid=%d) is " \
    "multi-threaded, use of fork() may lead to deadlocks in the child."


def untraced_forks(tap, flags):
    name = " ".join(flags) or "plain"
    ctl = Driven("forking.py", flags)
    st = ctl.ask("state")
    tap.eq((st["poller"], st["warnings"]), (True, []),
           "%s: poller runs before forking" % name)
    st = ctl.ask("forkmany 40")
    tap.eq(st["statuses"], [i % 7 for i in range(40)],
           "%s: 40 forks, each child's exit status seen" % name)
    tap.eq(st["warnings"], [], "%s: no warning from 40 os.fork() calls"
           % name)
    tap.eq(st["poller"], True, "%s: the poller runs again after the forks"
           % name)
    # the same check sees a warning when there really is a thread
    ctl.ask("thread")
    st = ctl.ask("forkmany 1")
    tap.eq(st["warnings"], [THREAD_WARNING % ctl.pid],
           "%s: control: with a thread of the program, os.fork() warns "
           "once" % name)
    ctl.ask("unthread")
    st = ctl.ask("forkmany 3")
    tap.eq(st["warnings"], [], "%s: thread gone: no warning again" % name)
    status, err = ctl.finish("exit 0")
    tap.eq((status, err), (0, ""), "%s: exits 0, silent" % name)


def traced_child(tap):
    ctl = Driven("forking.py")
    child = ctl.ask("fork")
    tap.ok(child.get("child", 0) > 0 and child["child"] != ctl.pid
           and child["poller"] and child["tool_id"] is None,
           "os.fork child: its own poller, no tool id while untraced",
           child)
    cpid = child["child"]
    bt = attach_pid(cpid, ["PY_START", "PY_RETURN"])
    ok, st = ctl.wait_state("enabled", ["PY_START", "PY_RETURN"])
    tap.ok(ok and st["pid"] == cpid,
           "child traced by its own PID: events on in the child", st)
    reply = ctl.ask("work 500")
    maps = parse_maps(bt.stop())
    tap.eq((reply["done"], per_probe(maps)),
           (500, {"PY_START": 500, "PY_RETURN": 500}),
           "child: every call counted, exactly 500 starts and returns")
    ok, st = ctl.wait_state("enabled", [])
    tap.ok(ok, "child: events off after detach", st)
    reaped = ctl.ask("exit 7")
    tap.eq((reaped.get("reaped"), reaped.get("status"), reaped["warnings"],
            reaped["poller"], reaped["pid"]),
           (cpid, 7, [], True, ctl.pid),
           "parent: reaps the child (status 7), no warning, poller runs")
    bt = attach_pid(ctl.pid, ["PY_START", "PY_RETURN"])
    ok, st = ctl.wait_state("enabled", ["PY_START", "PY_RETURN"])
    tap.ok(ok, "parent traced by PID after the fork", st)
    reply = ctl.ask("work 300")
    maps = parse_maps(bt.stop())
    tap.eq((reply["done"], per_probe(maps)),
           (300, {"PY_START": 300, "PY_RETURN": 300}),
           "parent: every call counted, exactly 300")
    status, err = ctl.finish("exit 0")
    tap.eq((status, err), (0, ""), "parent exits 0, silent")


def traced_parent_forks(tap):
    """The parent is traced by PID while it forks: the child inherits the
    parent's events and breakpoints but is no target of the tracer."""
    ctl = Driven("forking.py")
    ctl.ask("state")    # pyusdt is loaded: its probes exist
    bt = attach_pid(ctl.pid, ["PY_START", "PY_RETURN"])
    ok, st = ctl.wait_state("enabled", ["PY_START", "PY_RETURN"])
    tap.ok(ok, "traced parent: events on", st)
    child = ctl.ask("fork")
    if "reaped" in child:
        # the child died before it could answer
        tap.ok(False, "child of a traced parent works", "the child ended "
               "with status %s before answering" % child["status"])
    else:
        reply = ctl.ask("work 200")
        tap.eq((child["pid"] != ctl.pid, reply["done"], reply["total"]),
               (True, 200, 20100), "child of a traced parent works")
        child = ctl.ask("exit 3")
    tap.eq((child.get("status"), child["warnings"]), (3, []),
           "child of a traced parent exits 3; no warning in the parent")
    reply = ctl.ask("work 100")
    maps = parse_maps(bt.stop())
    tap.eq(per_probe(maps), {"PY_START": 100, "PY_RETURN": 100},
           "traced parent: exactly its own 100 calls counted")
    status, err = ctl.finish("exit 0")
    tap.eq((status, err), (0, ""), "traced parent exits 0, silent")


def c_fork(tap):
    """fork(2) from C (ctypes) skips os.fork()'s hooks: the child has a
    copy of the poller's state but no thread.  Its exit must not wait for
    the parent's thread."""
    ctl = Driven("forking.py")
    try:
        st = ctl.ask("cfork", timeout=30)
        tap.eq((st["status"], st["poller"]), (5, True),
               "libc fork(): the child exits 5 at once (no hang in its exit "
               "hook), the parent's poller runs")
    except RuntimeError as e:
        tap.ok(False, "libc fork(): the child exits 5 at once", e)
        ctl.kill()
        return
    status, err = ctl.finish("exit 0")
    tap.eq((status, err), (0, ""), "libc fork(): parent exits 0, silent")


def mp_path():
    # spawn and forkserver children name the main module by its normalized
    # path (no "..", as in a VPATH build's): so must the tracer's filter
    return workload_normalized("multiproc.py")


def run_mp(method, launcher, env=None):
    args = [PYTHON] + (["-m", "pyusdt"] if launcher else []) + [
        mp_path(), method]
    return subprocess.run(args, env=env or python_env(
        PYTHONWARNINGS="always::DeprecationWarning"), capture_output=True,
        text=True, timeout=180)


def multiprocessing_(tap):
    path = mp_path()
    want = ("totals [(10, 55), (20, 210), (30, 465)]\n"
            "exitcodes [0, 0, 0, 3]\n"
            "squares [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n")
    for method in ("fork", "forkserver", "spawn"):
        for launcher in (False, True):
            how = "python3 -m pyusdt" if launcher else "python3"
            proc = run_mp(method, launcher)
            body = proc.stdout.rsplit("\n", 2)[0] + "\n"
            tap.eq((proc.returncode, body, proc.stderr), (0, want, ""),
                   "multiprocessing %s, untraced, %s: same results, no "
                   "warning" % (method, how))
    prog = "\n".join(
        '%s /str(arg1) == "%s"/ { @c["%s", pid, str(arg0)] = count(); }'
        % (probe(p), path, p) for p in ("PY_START", "PY_RETURN"))
    for method in ("fork", "forkserver", "spawn"):
        with Bpftrace(prog) as bt:
            proc = run_mp(method, False)
            text = bt.stop()
        body = proc.stdout.rsplit("\n", 2)[0] + "\n"
        tap.eq((proc.returncode, body, proc.stderr), (0, want, ""),
               "multiprocessing %s, traced: same results, no warning"
               % method)
        try:
            pids = {int(n): pid for n, pid in
                    json.loads(proc.stdout.splitlines()[-1]).items()}
        except (ValueError, IndexError):
            pids = {}
        counts = parse_maps(text).get("c", {})
        got = {n: tuple(counts.get((p, str(pid), f), 0)
                        for p in ("PY_START", "PY_RETURN")
                        for f in ("task", "work"))
               for n, pid in pids.items()}
        tap.eq(got, {n: (1, n, 1, n) for n in (10, 20, 30)},
               "multiprocessing %s, traced: each child's calls counted in "
               "that child (task once, work n times)" % method)
        squares = sum(v for (p, _pid, f), v in counts.items()
                      if p == "PY_START" and f == "square")
        tap.eq(squares, 10, "multiprocessing %s, traced: the pool's 10 "
               "calls of square() counted" % method)


def main():
    tap = TAP()
    require_tracing(tap)
    for part, args in ((untraced_forks, [[]]),
                       (untraced_forks, [["--logging"]]),
                       (traced_child, []), (traced_parent_forks, []),
                       (c_fork, []), (multiprocessing_, [])):
        t0 = time.monotonic()
        part(tap, *args)
        print("# %s: %.1f s" % (part.__name__, time.monotonic() - t0))
    tap.done()


main()

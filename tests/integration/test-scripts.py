"""The bpftrace scripts of scripts/ (their copies for the build tree in
tests/scripts), run against real traced programs, in the three ways of
tracing: by PID (bpftrace -p), launched (pyusdt --trace) and system-wide
(the library's path, output filtered by the workload's PID).  Counts are
exact where the workload makes them deterministic."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from pyusdttest import (BUILDDIR, LIBRARY, PYTHON, TAP, Bpftrace, Driven,
                        python_env, require_tracing, workload,
                        workload_normalized)

SCRIPTS = os.path.join(BUILDDIR, "tests", "scripts")
# The scripts size their strings themselves; the tests run them with
# bpftrace's default string size, as users do (pyusdttest sets 300).
os.environ.setdefault("BPFTRACE_MAX_STRLEN", "1024")
NAMES = ("events", "exceptions", "flow", "latency", "lines", "slow",
         "syscalls", "top")
TIME = r"(\d+\.\d\d) (ns|us|ms|s )"
UNIT_NS = {"ns": 1, "us": 1000, "ms": 1000000, "s ": 1000000000}


def script(name):
    return os.path.join(SCRIPTS, name + ".bt")


def ns(value, unit):
    return float(value) * UNIT_NS[unit]


def line_of(path, text):
    """The number of the first line of file path that contains text."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise ValueError("%r not in %s" % (text, path))


# ------------------------------------------------------------ the 3 ways

def idle(pid, timeout=10.0):
    """Wait until process pid uses no CPU for 0.1 s: bpftrace has printed
    the events of its buffers, which it drops when it ends."""
    last, still = None, 0
    deadline = time.monotonic() + timeout
    while still < 2 and time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                busy = f.read().rpartition(")")[2].split()[11:13]
        except OSError:
            return
        still = still + 1 if busy == last else 0
        last = busy
        time.sleep(0.05)


def systemwide(name, prog, prog_args=(), bt_args=()):
    """bpftrace NAME.bt system-wide, then PYTHON PROG (which imports
    pyusdt): (pid of the program, its exit status, bpftrace's output).
    Not through the pyusdt command: the imports of its start would print
    more events than bpftrace reads in time."""
    bt = Bpftrace(script=script(name), args=bt_args, ready="Tracing")
    bt.start()
    try:
        proc = subprocess.Popen([PYTHON, workload(prog)] + list(prog_args),
                                env=python_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        proc.communicate(timeout=120)
        idle(bt.proc.pid)
    finally:
        text = bt.stop()
    return proc.pid, proc.returncode, text


def launched(name, prog, prog_args=(), bt_args=(), options=()):
    """PYTHON -m pyusdt --trace NAME.bt PROG: (pid, status, the script's
    output (--trace-output), the command's stderr)."""
    fd, out = tempfile.mkstemp(prefix="pyusdt-trace-", suffix=".txt")
    os.close(fd)
    cmd = [PYTHON, "-m", "pyusdt", "--trace", script(name)]
    for a in bt_args:
        cmd += ["--trace-arg", str(a)]
    cmd += ["--trace-output", out] + list(options)
    if prog is not None:
        cmd.append(workload(prog))
    cmd += list(prog_args)
    proc = subprocess.Popen(cmd, env=python_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=240)
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    return proc.pid, proc.returncode, text, err


def script_probes(name):
    """The pyusdt probes script NAME uses."""
    with open(script(name)) as f:
        return set(re.findall(r"usdt:[^:\s]*:pyusdt:([A-Z_]+)", f.read()))


def by_pid(tap, name, run):
    """bpftrace -p on script_serve.py: wait until all the probes of the
    script are on (bpftrace attaches them one by one), RUN the workload,
    end bpftrace and check the program is left as before.  bpftrace's
    output."""
    probes = script_probes(name)
    # STACK_LAYOUT switches no event on: its semaphore says it is attached
    layout = "STACK_LAYOUT" in probes
    probes.discard("STACK_LAYOUT")
    srv = Driven("script_serve.py", hello="state")
    bt = Bpftrace(script=script(name), pid=srv.pid, ready="Tracing")
    try:
        bt.start()
        _, st = srv.wait_state(lambda s: probes <= set(s["enabled"])
                               and s["stack_layout"] >= layout, timeout=30)
        time.sleep(0.2)
        tap.ok(probes <= set(st["enabled"]) and st["stack_layout"] >= layout,
               "%s -p: the probes are on in the program" % name, st)
        if layout:
            # bpftrace has the layout now (the poller fires STACK_LAYOUT
            # every 10 ms): the program's next read of stdin, entered
            # after this, is seen
            srv.ask("state")
        srv.ask("run " + run)
        idle(bt.proc.pid)
    finally:
        text = bt.stop()
    _, st = srv.wait_state(lambda s: not s["attached"] and not s["enabled"]
                           and not s["events"] and not s["stack_layout"],
                           timeout=30)
    tap.ok(st["attached"] == [] and st["enabled"] == []
           and st["events"] == 0 and not st["stack_layout"],
           "%s -p: detached, the program is left as before" % name, st)
    tap.eq(srv.finish("quit")[0], 0,
           "%s -p: the program then ends normally" % name)
    return srv.pid, text


# ---------------------------------------------------------------- parsers

TOP_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+%s\s+%s\s+%s  (\S+) \((.*):(\d+)\)$"
                     % (TIME, TIME, TIME))


def top_rows(text, pid):
    """{qualname: (calls, total ns, own ns, total text, own text)} of the
    last table of top.bt for pid (file of the workloads only)."""
    rows = {}
    for line in text.splitlines():
        m = TOP_ROW.match(line)
        if m and int(m.group(1)) == pid:
            rows[m.group(9)] = (int(m.group(2)), ns(m.group(3), m.group(4)),
                                ns(m.group(5), m.group(6)),
                                m.group(3) + m.group(4),
                                m.group(5) + m.group(6), m.group(10))
    return rows


def hist_total(text):
    return sum(int(m.group(1)) for m in re.finditer(
        r"^\[[^\]\)]*[\]\)]\s+(\d+) \|", text, re.M))


FLOW_ROW = re.compile(r"^\s*(?:\d+\.\d{6}) (.{7}) (.{7}) ( *)(->|<-) (\S+)"
                      r"(?: \((.*):(\d+)\))?(?: %s)?(?:: (\w+)(?: (.*))?)?$"
                      % TIME)


def flow_rows(text, pid):
    """[(tid, depth, arrow, name, file, how, value)] of flow.bt for pid."""
    rows = []
    for line in text.splitlines():
        m = FLOW_ROW.match(line)
        if m and m.group(1).strip() == str(pid):
            rows.append((float(line.split()[0]),
                         (int(m.group(2)), len(m.group(3)) // 2,
                          m.group(4), m.group(5), m.group(6), m.group(10),
                          m.group(11))))
    # bpftrace 0.23 reads one perf buffer per CPU in turn: a thread that
    # moved between CPUs can have its lines printed out of order.  The
    # timestamps give the order (a stable sort keeps ties as printed).
    rows.sort(key=lambda r: r[0])
    return [r[1] for r in rows]


def balanced(rows):
    """None if every exit matches the entry above it at the same depth,
    else the first row that does not."""
    stacks = {}
    for row in rows:
        tid, depth, arrow, name = row[:4]
        stack = stacks.setdefault(tid, [])
        if arrow == "->":
            if depth != len(stack):
                return row
            stack.append(name)
        else:
            if not stack or stack[-1] != name or depth != len(stack) - 1:
                return row
            stack.pop()
    return None


EVENT_ROW = re.compile(r"^\s*\d+\.\d{6} (\d+)\s+(\d+)\s+(\w+)\s+(.*)$")
EVENT_ARGS = re.compile(r"(\w+)=(.*?)(?= \w+=|$)")


def event_rows(text, pid):
    """[(probe, {arg: value})] of events.bt for pid."""
    rows = []
    for line in text.splitlines():
        m = EVENT_ROW.match(line)
        if m and int(m.group(1)) == pid:
            rows.append((m.group(3), dict(EVENT_ARGS.findall(m.group(4)))))
    return rows


# ------------------------------------------------------------------ tests

def test_installed_copies(tap):
    for name in NAMES:
        path = script(name)
        ok = os.access(path, os.X_OK)
        with open(path) as f:
            text = f.read()
        tap.ok(ok and text.startswith("#!/usr/bin/env bpftrace\n")
               and ("usdt:%s:pyusdt:" % LIBRARY) in text
               and "@PROBE_LIBRARY@" not in text
               and "@SYSCALL_NAMES@" not in text
               and "USAGE" in text and "EXAMPLE" in text,
               "%s.bt: executable, header, probe path filled in" % name)


def test_top_pid(tap):
    pid, text = by_pid(tap, "top", "work")
    rows = top_rows(text, pid)
    tap.eq((rows.get("a", (0,))[0], rows.get("b", (0,))[0]), (150, 50),
           "top.bt -p: calls of a() and b()")
    b = rows.get("b")
    tap.ok(b is not None and b[1] >= b[2] and b[5].endswith(
        "script_serve.py"), "top.bt -p: b() takes longer with its callee "
        "a() than without, file named", text)


def test_top_launched(tap):
    pid, status, text, err = launched("top", "script_calls.py", ["3"])
    tap.eq(status, 3, "top.bt --trace: the program's exit status")
    rows = top_rows(text, pid)
    calls = {k: rows[k][0] for k in ("a", "b", "fib", "Calc.step", "step",
                                     "numbers", "main", "<module>")
             if k in rows}
    tap.eq(calls, {"a": 100, "b": 50, "fib": 177, "Calc.step": 30,
                   "step": 20, "numbers": 1, "main": 1, "<module>": 1},
           "top.bt --trace: calls per function, from the first line",
           "output:\n%s\nstderr:\n%s" % (text, err))
    fib = rows.get("fib")
    tap.ok(fib is not None and fib[3] == fib[4],
           "top.bt --trace: recursion counted once in total time",
           text)
    main = rows.get("main")
    tap.ok(main is not None and main[1] > main[2] and
           main[5] == workload("script_calls.py") and "OWN/CALL" in text,
           "top.bt --trace: total includes callees, own does not", text)
    # bpftrace ends its output with two empty lines of its own; a dump of
    # the script's (emptied) maps would add one per map
    tail = text[len(text.rstrip("\n")):]
    tap.ok(text.rstrip("\n").endswith(")") and len(tail) <= 3,
           "top.bt --trace: the report ends the output (%d empty lines "
           "after it)" % (len(tail) - 1), repr(text[-300:]))


def test_top_ending(tap):
    """--trace stops bpftrace at exit, after the program's threads and
    atexit handlers; a forked child's sys.exit() does not stop it."""
    pid, status, text, err = launched("top", "script_ending.py")
    rows = top_rows(text, pid)
    calls = {k: rows[k][0] for k in ("last", "worker", "at_exit", "child")
             if k in rows}
    tap.eq((status, calls), (3, {"last": 4, "worker": 1, "at_exit": 1}),
           "top.bt --trace: a thread left running and an atexit handler "
           "traced to their end; exit status 3", "output:\n%s\nstderr:\n%s"
           % (text, err))
    lines = [l for l in err.splitlines() if not l.startswith(("WARNING:",
                                                              "Attach"))]
    tap.eq(lines, [], "top.bt --trace: the child's sys.exit(4) leaves the "
           "parent's bpftrace alone (nothing on stderr)")


def test_top_interval(tap):
    code = ("import time\n"
            "def tick():\n"
            "    time.sleep(0.4)\n"
            "for i in range(6):\n"
            "    tick()\n")
    fd, prog = tempfile.mkstemp(prefix="pyusdt-tick-", suffix=".py")
    with os.fdopen(fd, "w") as f:
        f.write(code)
    try:
        cmd = [PYTHON, "-m", "pyusdt", "--trace", "top",
               "--trace-arg", "1", prog]
        env = python_env(PYUSDT_SCRIPT_DIR=SCRIPTS)
        p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=240)
    finally:
        os.unlink(prog)
    tables = re.findall(r"^\d\d:\d\d:\d\d$", p.stdout, re.M)
    ticks = sum(int(m.group(1)) for m in re.finditer(
        r"^\s*\d+\s+(\d+)\s+.*  tick \(", p.stdout, re.M))
    tap.ok(p.returncode == 0 and len(tables) >= 2 and ticks == 6,
           "top.bt 1 --trace (by name): a table a second, each call "
           "counted once (%d tables, %d calls)" % (len(tables), ticks),
           p.stdout + p.stderr)


def test_latency(tap):
    pid, status, text, err = launched("latency", "script_calls.py",
                                      bt_args=["a"])
    tap.ok(status == 0 and hist_total(text) == 100 and
           re.search(r"^a: 100 calls, average ", text, re.M),
           "latency.bt a: histogram of 100 calls", text + err)
    pid, status, text, err = launched("latency", "script_calls.py",
                                      bt_args=["step"])
    rows = dict((m.group(2), int(m.group(1))) for m in re.finditer(
        r"^\s*%d\s+(\d+)  (\S+) \(" % pid, text, re.M))
    tap.ok(hist_total(text) == 50 and rows == {"Calc.step": 30, "step": 20},
           "latency.bt step: by name, method and function (50 calls)", text)
    pid, status, text, err = launched("latency", "script_calls.py",
                                      bt_args=["Calc.step"])
    tap.ok(hist_total(text) == 30 and re.search(
        r"^Calc\.step: 30 calls, average \d+\.\d\d (ns|us|ms), min ", text,
        re.M), "latency.bt Calc.step: by qualified name (30 calls)", text)
    pid, status, text, err = launched("latency", None, options=["-c", "0"])
    tap.ok(re.search(r"usage: latency\.bt FUNCTION", text),
           "latency.bt with no function: usage", text + err)


def test_flow(tap, way):
    if way == "system-wide":
        pid, status, text = systemwide("flow", "script_calls.py")
    else:
        pid, status, text, err = launched("flow", "script_calls.py")
    rows = flow_rows(text, pid)
    bad = balanced(rows)
    tap.ok(rows and bad is None,
           "flow.bt %s: exits match entries, depth by depth" % way,
           "first bad row: %r" % (bad,))
    ours = [r for r in rows if r[3] in ("outer", "check", "after")]
    top = ours[0][1] if ours else 0
    got = [(r[1] - top, r[2], r[3], r[5], r[6]) for r in ours]
    want = [(0, "->", "outer", None, None), (1, "->", "check", None, None),
            (1, "<-", "check", "unwind", "ValueError('bad')"),
            (0, "<-", "outer", "unwind", "ValueError('bad')"),
            (0, "->", "after", None, None),
            (0, "<-", "after", "return", "1")]
    tap.eq(got, want, "flow.bt %s: an exception unwinds two calls" % way)
    gen = [(r[2], r[5], r[6]) for r in rows if r[3] == "numbers"]
    tap.eq(gen, [("->", None, None), ("<-", "yield", "1"),
                 ("->", "resume", None), ("<-", "yield", "2"),
                 ("->", "resume", None), ("<-", "yield", "3"),
                 ("->", "resume", None), ("<-", "return", "None")],
           "flow.bt %s: a generator's runs" % way)
    fib = [r[2] for r in rows if r[3] == "fib"]
    tap.eq((fib.count("->"), fib.count("<-")), (177, 177),
           "flow.bt %s: recursion" % way)


def test_slow(tap):
    pid, status, text = systemwide("slow", "script_slow.py", bt_args=[100])
    rows = [line for line in text.splitlines()
            if re.match(r"^\s*\d+\.\d{6} %d " % pid, line)]
    slowpoke = [r for r in rows if " slowpoke (" in r]
    quick = [r for r in rows if " quick (" in r]
    m = re.search(r" %s\s+\d+ slowpoke \(.*script_slow\.py:\d+\): "
                  r"return 2$" % TIME, slowpoke[0]) if slowpoke else None
    tap.ok(len(slowpoke) == 1 and not quick and m
           and ns(m.group(1), m.group(2)) >= 100e6
           and re.search(r"slower than 100 ms", text),
           "slow.bt 100 system-wide: only the 150 ms call and its callers",
           text)


def test_events(tap):
    pid, status, text = systemwide("events", "script_events.py")
    rows = event_rows(text, pid)
    path = workload("script_events.py")
    get = line_of(path, "def get")
    gen = line_of(path, "def gen")
    fail = line_of(path, "def fail")
    probes = {p for p, _ in rows}
    tap.eq(sorted(probes), sorted(["PY_START", "PY_RESUME", "PY_RETURN",
                                   "PY_YIELD", "CALL", "LINE", "PY_UNWIND",
                                   "PY_THROW", "RAISE"]),
           "events.bt system-wide: every probe")

    def find(probe, **want):
        for p, args in rows:
            if p == probe and all(args.get(k) == str(v)
                                  for k, v in want.items()):
                return args
        return None

    checks = [
        ("PY_START", dict(name="get", qualname="Box.get", file=path,
                          firstline=get, offset=0)),
        ("PY_RETURN", dict(name="get", qualname="Box.get", file=path,
                           firstline=get, value=42)),
        ("PY_START", dict(name="gen", qualname="gen", firstline=gen)),
        ("PY_YIELD", dict(name="gen", qualname="gen", value=1)),
        ("PY_RESUME", dict(name="gen", qualname="gen", file=path,
                           firstline=gen)),
        ("PY_YIELD", dict(name="gen", qualname="gen", value=2)),
        ("PY_THROW", dict(name="gen", qualname="gen", value="KeyError('k')")),
        ("PY_YIELD", dict(name="gen", qualname="gen", value=3)),
        ("RAISE", dict(name="fail", qualname="fail", file=path,
                       firstline=fail, value="ValueError('boom')")),
        ("PY_UNWIND", dict(name="fail", qualname="fail",
                           value="ValueError('boom')")),
        ("RAISE", dict(name="main", qualname="main",
                       value="ValueError('boom')")),
        ("LINE", dict(name="fail", qualname="fail", file=path,
                      line=fail + 1)),
        ("CALL", dict(name="main", qualname="main", file=path)),
    ]
    missing = [(p, w) for p, w in checks if find(p, **w) is None]
    tap.ok(not missing, "events.bt system-wide: the arguments of each probe",
           "missing: %r\n%s" % (missing, "\n".join(
               "%s %r" % r for r in rows if r[1].get("file") == path)))
    offsets = [args.get("offset", "0") for p, args in rows
               if p != "LINE"]
    tap.ok(all(o.isdigit() for o in offsets),
           "events.bt system-wide: instruction offsets are numbers")


def test_lines(tap):
    pid, text = by_pid(tap, "lines", "lines")
    path = workload_normalized("script_serve.py")
    hits = {}
    for m in re.finditer(r"^\s*%d\s+(\d+)  (.*):(\d+) \((\S+)\)$" % pid,
                         text, re.M):
        if m.group(2) == path:
            hits[(m.group(4), int(m.group(3)))] = int(m.group(1))
    total = line_of(path, "def total")
    lines = line_of(path, "def lines")
    want = {("total", total + 1): 5, ("total", total + 2): 505,
            ("total", total + 3): 500, ("total", total + 4): 5,
            ("lines", lines + 1): 6, ("lines", lines + 2): 5}
    tap.eq({k: hits.get(k) for k in want}, want,
           "lines.bt -p: hits per line")


def test_exceptions(tap):
    pid, status, text, err = launched("exceptions", "script_exceptions.py")
    rows = {}
    for m in re.finditer(r"^\s*%d\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)  (\S+)\s+"
                         r"(\S+) \((.*):\d+\)$" % pid, text, re.M):
        if m.group(7) == workload("script_exceptions.py"):
            rows[(m.group(6), m.group(5))] = tuple(
                int(m.group(i)) for i in range(1, 5))
    tap.eq(rows, {("parse", "ValueError"): (10, 0, 0, 10),
                  ("load", "ValueError"): (0, 10, 10, 0),
                  ("lookup", "KeyError"): (3, 0, 3, 0),
                  ("gen", "KeyError"): (0, 1, 1, 0),
                  ("gen", "GeneratorExit"): (0, 1, 0, 1)},
           "exceptions.bt --trace: raised, received, caught, escaped",
           )
    if not rows:
        print("# " + "\n# ".join(text.splitlines()))


def syscall_rows(text, pid, path):
    """{(function, syscall): count} of syscalls.bt's table, for the
    functions of file path (a relative path: any file ending so)."""
    rows = {}
    for m in re.finditer(r"^\s*%d\s+(\d+)\s+%s  (\S+)\s+(\S+) \((.*):\d+\)$"
                         % (pid, TIME), text, re.M):
        if m.group(6) == path or (not path.startswith("/")
                                  and m.group(6).endswith("/" + path)):
            rows[(m.group(5), m.group(4))] = int(m.group(1))
    return rows


def syscall_stacks(text, pid):
    """{(stack, syscall): count} of the table of "syscalls.bt 1"."""
    rows = {}
    for m in re.finditer(r"^\s*%d\s+(\d+)\s+%s  (\S+)\s+(\S.*)$"
                         % (pid, TIME), text, re.M):
        rows[(m.group(5), m.group(4))] = int(m.group(1))
    return rows


def stacks_missing():
    if sys.version_info < (3, 13):
        return "syscalls.bt reads Python stacks: Python 3.13 or later"
    return None


def test_syscalls(tap):
    pid, text = by_pid(tap, "syscalls", "reads")
    serve = workload_normalized("script_serve.py")
    rows = syscall_rows(text, pid, serve)
    tap.eq(rows.get(("reader", "read")), 7,
           "syscalls.bt -p: 7 reads of reader()", text)
    # the command loop, serve() of tests/workloads/serve.py, was entered
    # long before bpftrace attached: it read "state" and "run reads" from
    # stdin
    loop = syscall_rows(text, pid, "serve.py").get(("serve", "read"), 0)
    tap.ok(loop >= 1, "syscalls.bt -p: the reads of a frame entered "
           "before attach (%d)" % loop, text)
    prog = workload("script_reads.py")
    pid, status, text, err = launched("syscalls", "script_reads.py", ["12"])
    rows = syscall_rows(text, pid, prog)
    tap.eq((rows.get(("reader", "read")), rows.get(("main", "read")),
            rows.get(("main", "write")), rows.get(("main", "pipe2"),
                                                  rows.get(("main", "pipe")))),
           (12, None, 1, 1),
           "syscalls.bt --trace: read, write and pipe counted for the "
           "function that makes them", text)
    sleeps = [n for (f, s), n in rows.items() if f == "nap"]
    tap.ok(sleeps == [1] and not any(s == "uprobe" for f, s in rows),
           "syscalls.bt --trace: one sleep in nap(), no uprobe call", text)
    pid, status, text, err = launched("syscalls", "script_reads.py", ["12"],
                                      bt_args=[1])
    rows = syscall_stacks(text, pid)
    frames = ["<module> (%s:1)" % prog,
              "main (%s:%d)" % (prog, line_of(prog, "def main(")),
              "reader (%s:%d)" % (prog, line_of(prog, "def reader("))]
    # under the launcher's frames (pyusdt runs the program in its own)
    reads = [n for (stack, call), n in rows.items()
             if call == "read" and stack.endswith(";" + ";".join(frames))]
    under_main = ";" + ";".join(frames[:2])
    writes = [n for (stack, call), n in rows.items()
              if call == "write" and stack.endswith(under_main)]
    tap.eq((reads, writes), ([12], [1]),
           "syscalls.bt 1: 12 reads under <module>;main;reader, one write "
           "under <module>;main", text)


def test_syscalls_full(tap, stacks):
    """More new rows than the script keeps: it keeps its STACK_KEEP rows
    and frames (the first ones), counts the calls it could not, and no
    update of a full map is tried (bpftrace would print a warning for
    each).  A row per function, or per stack: a new frame and a new row
    for each function."""
    with open(script("syscalls")) as f:
        keep = int(re.search(r"@kept < (\d+)", f.read()).group(1))
    n = keep + 500
    # the report of every row kept: 2 records of up to 300 bytes each in
    # a buffer of pages of 4096 bytes, which bpftrace's environment sets
    # over the script's own (a size for a test, not for users)
    pages = 1 << (2 * keep * 300 // 4096).bit_length()
    bt = Bpftrace(script=script("syscalls"), args=[stacks], ready="Tracing")
    bt.start(env={"BPFTRACE_PERF_RB_PAGES": str(pages)})
    prog = workload("script_many.py")
    try:
        proc = subprocess.Popen([PYTHON, prog, str(n)], env=python_env(),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        proc.communicate(timeout=600)
        idle(bt.proc.pid)
    finally:
        text = bt.stop(timeout=600)
    rows = re.findall(r"^\s*\d+\s+\d+\s+%s  \S+\s+\S.*$" % TIME, text,
                      re.M)
    if stacks:
        calls = {(stack.rpartition(";")[2].split()[0], call): count
                 for (stack, call), count in
                 syscall_stacks(text, proc.pid).items()
                 if stack.endswith(":%d)" % 0) or prog in stack}
        calls = {(f, c): v for (f, c), v in calls.items()
                 if re.match(r"f\d+$", f)}
    else:
        calls = syscall_rows(text, proc.pid, prog)
    kept = sorted(int(f[1:]) for f, call in calls if call == "getppid")
    m = re.search(r"\((\d+) system calls not counted: the maps were "
                  r"full\)", text)
    lost = int(m.group(1)) if m else 0
    k = len(kept)
    # a row per function: keep rows in all; per stack, a row and the
    # stack's 3 frames (<module>, main, fN), which no other stack shares
    # (stacks share the frames of the innermost part they have alike)
    share = keep if not stacks else keep // 4
    tap.ok(proc.returncode == 0 and share - 50 <= len(rows) <= keep
           and 0 < k < n and kept == list(range(k))
           and all(calls[("f%d" % i, "getppid")] == 1 for i in kept)
           # (and the few calls of the program's end that would start
           # rows of their own)
           and n - k <= lost <= n - k + 300,
           "syscalls.bt %d, %d functions making a call each: %d rows "
           "kept, the first; %d calls counted as not (%d getppid calls "
           "left out)" % (stacks, n, len(rows), lost, n - k),
           text[-3000:] + bt.err[-2000:])
    warned = [w for w in ("Map full", "Lost ", "map_update_elem")
              if w in text or w in bt.err]
    tap.ok(not warned, "syscalls.bt %d with its maps full: no update "
           "fails (no warning of bpftrace's)" % stacks, bt.err[-2000:])


def test_trace_errors(tap):
    base = [PYTHON, "-m", "pyusdt"]
    prog = workload("script_slow.py")

    def run(args, **kw):
        env = kw.pop("env", python_env())
        return subprocess.run(base + args, env=env, capture_output=True,
                              text=True, timeout=240, **kw)

    p = run(["--trace", "nosuch-script", prog])
    tap.ok(p.returncode == 5 and "no bpftrace script" in p.stderr
           and len(p.stderr.splitlines()) == 1,
           "--trace of a missing script: status 5, one line", p.stderr)
    p = run(["--trace", script("top"), prog],
            env=python_env(BPFTRACE="/nonexistent/bpftrace"))
    tap.ok(p.returncode == 4 and "needs bpftrace" in p.stderr,
           "--trace without bpftrace: status 4", p.stderr)
    with tempfile.NamedTemporaryFile("w", suffix=".bt", delete=False) as f:
        f.write("usdt:/nonexistent/libpyusdt.so:pyusdt:PY_START { }\n")
    p = run(["--trace", f.name, prog])
    tap.ok(p.returncode == 5 and "this pyusdt's probes are in" in p.stderr,
           "--trace of a script for another library: status 5", p.stderr)
    with open(f.name, "w") as g:
        g.write("usdt:%s:pyusdt:PY_START { @x = nosuchfunction(); }\n"
                % LIBRARY)
    p = run(["--trace", f.name, prog])
    tap.ok(p.returncode == 6 and "before it attached" in p.stderr,
           "--trace of a script bpftrace rejects: status 6", p.stderr)
    os.unlink(f.name)
    p = run(["--trace", script("top"), prog], user=65534)
    tap.ok(p.returncode == 3 and "needs root" in p.stderr,
           "--trace as another user than root: status 3", p.stderr)
    p = run(["--trace", script("top")])
    tap.ok(p.returncode == 2 and "no program given" in p.stderr,
           "--trace with no program: usage error", p.stderr)
    p = run(["--trace-arg", "1", prog])
    tap.ok(p.returncode == 2 and "need --trace" in p.stderr,
           "--trace-arg without --trace: usage error", p.stderr)
    tap.run(test_trace_name_not_cwd, run, prog)


def test_trace_name_not_cwd(tap, run, prog):
    """--trace NAME runs bpftrace as root: a NAME without "/" is looked
    for in the script directories only, never in the current directory;
    ./NAME names the file there."""
    d = tempfile.mkdtemp(prefix="pyusdt-cwd-")
    planted = ('BEGIN { printf("planted script ran\\n"); }\n'
               "usdt:%s:pyusdt:PY_START { }\n" % LIBRARY)
    try:
        for name in ("top", "top.bt", "nosuch-script"):
            with open(os.path.join(d, name), "w") as f:
                f.write(planted)
        env = python_env(PYUSDT_SCRIPT_DIR=SCRIPTS)
        p = run(["--trace", "top", prog], cwd=d, env=env)
        tap.ok(p.returncode == 0 and "planted" not in p.stdout + p.stderr
               and "Tracing Python function calls" in p.stdout,
               "--trace top in a directory holding top and top.bt: the "
               "installed top.bt runs", p.stdout + p.stderr)
        p = run(["--trace", "nosuch-script", prog], cwd=d, env=env)
        tap.ok(p.returncode == 5 and "planted" not in p.stdout,
               "--trace nosuch-script, a file of the current directory: "
               "not found, status 5", p.stdout + p.stderr)
        p = run(["--trace", "./top", prog], cwd=d, env=env)
        tap.ok(p.returncode == 0 and "planted script ran" in p.stdout,
               "--trace ./top: the file of the current directory runs",
               p.stdout + p.stderr)
    finally:
        shutil.rmtree(d)


def main():
    tap = TAP()
    require_tracing(tap)
    print("# %s" % subprocess.run([os.environ.get("BPFTRACE") or "bpftrace",
                                   "--version"], capture_output=True,
                                  text=True).stdout.strip())
    sys.stdout.flush()
    tap.run(test_installed_copies)
    tap.run(test_events)
    tap.run(test_flow, "system-wide")
    tap.run(test_flow, "--trace")
    tap.run(test_slow)
    tap.run(test_top_pid)
    tap.run(test_top_launched)
    tap.run(test_top_ending)
    tap.run(test_top_interval)
    tap.run(test_latency)
    tap.run(test_lines)
    tap.run(test_exceptions)
    if stacks_missing():
        tap.skip("syscalls.bt", stacks_missing())
    else:
        tap.run(test_syscalls)
        tap.run(test_syscalls_full, 0)
        tap.run(test_syscalls_full, 1)
    tap.run(test_trace_errors)
    tap.done()


main()

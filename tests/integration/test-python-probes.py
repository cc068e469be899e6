"""CPython's own probes (provider "python": function__entry,
function__return, line) from pyusdt's library, with CPython's arguments
(filename, funcname, lineno): exact counts and lines for
tests/workloads/cpython_probes.py (calls, recursion, a generator,
coroutines, an exception, a loop), as CPython 3.11 fired them.  By PID
(the wildcard path a tool uses) and system-wide.  Where the interpreter
fires a probe itself (function__entry and function__return on 3.15), pyusdt
leaves it to it: each call is counted once.  Attach and detach switch the
events on and off as for pyusdt's own probes.  perf, which honours the
probes' semaphores, counts what bpftrace counts; bcc's ucalls and uflow
work unchanged."""

import glob
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from pyusdttest import (LIBRARY, PYTHON, SRCDIR, TAP, Bpftrace, Driven, parse_maps,
                        python_env, require_tracing, workload_normalized)

PROG = workload_normalized("cpython_probes.py")


def line_of(text, nth=1):
    """The number of the nth line of the workload that contains text."""
    seen = 0
    with open(PROG) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                seen += 1
                if seen == nth:
                    return n
    raise ValueError("%r not in %s" % (text, PROG))


def expected():
    """{probe: {(funcname, lineno): hits}} as CPython 3.11 fired them:
    function__entry at a call's first line and where a generator or
    coroutine goes on, function__return at the line of the return, the
    yield or the exception, line at each line about to run (loop() only)."""
    d = line_of
    last = sum(1 for _ in open(PROG))
    entry = {
        ("<module>", 1): 1, ("leaf", d("def leaf(")): 5,
        ("recurse", d("def recurse(")): 5,
        ("numbers", d("def numbers(")): 1, ("numbers", d("yield i")): 3,
        ("fail", d("def fail(")): 1, ("catch", d("def catch(")): 1,
        ("inner", d("async def inner(")): 1,
        ("inner", d("await asyncio.sleep(0)")): 1,
        ("outer", d("async def outer(")): 1,
        ("outer", d("return await inner()")): 1,
        ("loop", d("def loop(")): 1, ("main", d("def main(")): 1,
    }
    ret = {
        ("<module>", last): 1, ("leaf", d("return n + 1")): 5,
        ("recurse", d("return 0")): 1,
        ("recurse", d("return recurse(n - 1) + 1")): 4,
        ("numbers", d("yield i")): 3,
        ("numbers", d("for i in range(n):")): 1,
        ("fail", d('raise ValueError("no")')): 1,
        ("catch", d("return 1")): 1,
        ("inner", d("await asyncio.sleep(0)")): 1,
        ("inner", d("return 2")): 1,
        ("outer", d("return await inner()")): 2,
        ("loop", d("return total")): 1, ("main", d("    loop()")): 1,
    }
    line = {d("total = 0"): 1, d("for i in range(3):"): 4,
            d("total += i"): 3, d("return total"): 1}
    return {"function__entry": entry, "function__return": ret,
            "line": line}


def interpreter_fires():
    out = subprocess.run(
        [PYTHON, "-c", "import pyusdt; "
         "print(' '.join(pyusdt.state()['interpreter_fires']))"],
        env=python_env(), capture_output=True, text=True)
    return {n.split(":", 1)[1] for n in out.stdout.split()}


def program(path, probes=("function__entry", "function__return", "line")):
    """Count the python probes of path (a library path, an executable,
    or "*") for the workload's file, per probe object."""
    flt = '/str(arg0) == "%s"/' % PROG
    action = {
        "function__entry": "@e[probe, str(arg1), arg2] = count();",
        "function__return": "@r[probe, str(arg1), arg2] = count();",
        # loop() only
        "line": 'if (str(arg1) == "loop") { @l[probe, arg2] = count(); }'}
    return "\n".join("usdt:%s:python:%s %s { %s }"
                     % (path, p, flt, action[p]) for p in probes)


def by_probe(maps, name):
    """{(object, funcname, lineno): hits} of map name, object the file
    that fired (its path, without bpftrace's /proc/PID/root prefix)."""
    out = {}
    for key, n in maps.get(name, {}).items():
        probe = re.sub(r"^usdt:(/proc/\d+/root)?", "", key[0])
        obj = probe.rsplit(":", 2)[0]
        rest = tuple(int(k) if str(k).lstrip("-").isdigit() else k
                     for k in key[1:])
        out[(obj,) + rest] = out.get((obj,) + rest, 0) + n
    return out


def merged(counts):
    """{(funcname, lineno): hits} over the objects."""
    out = {}
    for key, n in counts.items():
        out[key[1:]] = out.get(key[1:], 0) + n
    return out


def run_pid(tap, bt_program=None, path=PROG):
    """The workload started under pyusdt, waiting; bpftrace -p PID with a
    wildcard path, as bcc's tools and one-liners name the probes; then
    the workload runs.  bpftrace's maps, the workload's output and
    errors, and bpftrace's output."""
    prog = subprocess.Popen(
        [PYTHON, "-m", "pyusdt", "-c",
         "import runpy, sys; print('ready', flush=True); "
         "sys.stdin.readline(); "
         "runpy.run_path(%r, run_name='__main__')" % path],
        env=python_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    # pyusdt is loaded once the program runs: bpftrace -p finds its probes
    # (a debug interpreter takes a while to start)
    prog.stdout.readline()      # "ready"
    bt = Bpftrace(bt_program or program("*"), pid=prog.pid)
    try:
        bt.start()
        time.sleep(0.3)
        out, err = prog.communicate("go\n", timeout=120)
        text = bt.wait(timeout=60)
    finally:
        bt.stop()
        if prog.poll() is None:
            prog.kill()
            prog.wait()
    return parse_maps(text), out, err, text


def run_system(tap, objects):
    """A system-wide tracer of objects ({path: its probes}), then the
    workload."""
    prog_text = "\n".join(program(o, p) for o, p in objects.items())
    with Bpftrace(prog_text) as bt:
        p = subprocess.run([PYTHON, "-m", "pyusdt", PROG], env=python_env(),
                           capture_output=True, text=True, timeout=120)
        time.sleep(0.3)
        text = bt.stop()
    return parse_maps(text), p.stdout, p.stderr


def check_counts(tap, how, maps, fires):
    want = expected()
    for probe, key in (("function__entry", "e"), ("function__return", "r"),
                       ("line", "l")):
        counts = by_probe(maps, key)
        objects = sorted({k[0] for k in counts})
        if probe in fires:
            # the interpreter fires it: pyusdt's copy stays silent, and
            # a simple call is counted once
            tap.ok(LIBRARY not in objects and counts,
                   "%s: %s fired by the interpreter only (%s)"
                   % (how, probe, ", ".join(objects)), counts)
            leaf = merged(counts).get(
                ("leaf", line_of("def leaf(") if probe == "function__entry"
                 else line_of("return n + 1")), 0)
            tap.eq(leaf, 5, "%s: %s: leaf() counted once per call"
                   % (how, probe), counts)
            continue
        got = merged(counts)
        if probe == "line":
            got = {k[0]: n for k, n in got.items()}
        tap.eq((objects, got), ([LIBRARY], want[probe]),
               "%s: %s from pyusdt's library, exact lines and counts"
               % (how, probe))


def test_attach(tap, fires):
    """Attach and detach switch the events on and off."""
    if "function__entry" in fires:
        probe, events = "line", ["LINE"]
    else:
        probe, events = "function__entry", ["PY_START", "PY_RESUME",
                                            "PY_THROW"]
    ctl = Driven("ctl.py", hello="state")
    # (by wildcard: with -p, bpftrace 0.27 attaches a probe named by path
    # twice, by the path and by /proc/PID/root/...)
    bt = Bpftrace('usdt:*:python:%s /str(arg1) == "work"/ '
                  '{ @n = count(); }' % probe, pid=ctl.pid)
    bt.start()
    ok, st = ctl.wait_state("enabled", events)
    tap.ok(ok and st["attached"] == ["python:" + probe],
           "python:%s attached by PID: events %s on" % (probe,
                                                        "+".join(events)),
           st)
    ctl.ask("work 100")
    maps = parse_maps(bt.stop())
    ok, st = ctl.wait_state("enabled", [])
    tap.ok(ok and st["attached"] == [] and st["events"] == 0,
           "python:%s detached: events off" % probe, st)
    # work() is one line: one entry, or one line event, per call
    tap.eq(maps.get("n", {}).get((), 0), 100,
           "python:%s fired while attached: once per call of work()"
           % probe)
    status, err = ctl.finish("quit")
    tap.eq((status, err), (0, ""), "the program then ends normally")


def test_perf(tap, perf, fires):
    """perf counts CPython's probe and pyusdt's PY_START in one run of the
    workload while bpftrace counts them too, system-wide: the same
    numbers.  perf needs the probes defined first (perf probe), which
    prints the event's name: perf 7 writes function__entry
    function_entry, perf 6 keeps it."""
    python = "line" if "function__entry" in fires else "function__entry"
    # (events left by an earlier run would refuse the new ones)
    remove = [perf, "probe", "-d", "sdt_python:*", "-d", "sdt_pyusdt:*"]
    subprocess.run(remove, capture_output=True)
    p = subprocess.run([perf, "buildid-cache", "--add", LIBRARY],
                       capture_output=True, text=True)
    events = []
    for probe in ("sdt_python:" + python, "sdt_pyusdt:PY_START"):
        p = subprocess.run([perf, "probe", "-x", LIBRARY, "-a", probe],
                           capture_output=True, text=True)
        m = re.search(r"perf record -e (\S+)", p.stdout + p.stderr)
        if p.returncode != 0 or not m:
            tap.ok(False, "perf probe -x LIBRARY -a %s" % probe,
                   p.stdout + p.stderr)
            subprocess.run(remove, capture_output=True)
            return
        events.append(m.group(1))
    try:
        bt = Bpftrace("usdt:%s:python:%s { @p[pid] = count(); }\n"
                      "usdt:%s:pyusdt:PY_START { @s[pid] = count(); }"
                      % (LIBRARY, python, LIBRARY))
        bt.start()
        try:
            p = subprocess.run(
                [perf, "stat", "-x", ",", "-e", events[0], "-e", events[1],
                 "--", PYTHON, "-m", "pyusdt", "-c",
                 "import os, runpy; print(os.getpid()); "
                 "runpy.run_path(%r, run_name='__main__')" % PROG],
                env=python_env(), capture_output=True, text=True,
                timeout=120)
            time.sleep(0.3)
        finally:
            maps = parse_maps(bt.stop())
    finally:
        subprocess.run(remove, capture_output=True)
    perf_counts = {}
    for line in p.stderr.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[2] in events and f[0].isdigit():
            perf_counts[f[2]] = int(f[0])
    pid = p.stdout.split()[0] if p.stdout.split() else "?"
    bt_counts = {events[0]: maps.get("p", {}).get((pid,), 0),
                 events[1]: maps.get("s", {}).get((pid,), 0)}
    tap.ok(perf_counts == bt_counts and bt_counts[events[0]] > 0,
           "perf stat and bpftrace count the same run alike: %s"
           % ", ".join("%s %s" % kv for kv in sorted(perf_counts.items())),
           "perf: %s\nbpftrace: %s\n%s" % (perf_counts, bt_counts,
                                           p.stderr[-2000:]))


def howto_one_liners():
    """The bpftrace programs of pyusdt(7)'s "CPython's howto in
    bpftrace", as a reader copies them."""
    with open(os.path.join(SRCDIR, "man", "pyusdt.7")) as f:
        man = f.read()
    section = man.split('.SS "CPython\'s howto in bpftrace"')[1]
    section = section.split(".SS ")[0]
    text = (section.replace("\\-", "-").replace("\\(aq", "'")
            .replace("\\e", "\\"))
    return re.findall(r"# bpftrace -p 1234 -e '\n(.*?)'\n", text, re.S)


def test_howto(tap, fires):
    """The howto's examples in bpftrace, from pyusdt(7), unchanged."""
    progs = howto_one_liners()
    tap.eq(len(progs), 3, "pyusdt(7) has the howto's 3 examples")
    if len(progs) != 3:
        return
    hierarchy, calls, lines = progs
    leaf_at = line_of("def leaf(")
    # the call hierarchy, which prints every call and return, on a small
    # program (bpftrace drops output on a busy one): leaf() entered and
    # left 5 times, at one depth
    small = workload_normalized("leaves.py")
    with open(small) as f:
        src = f.read().splitlines()
    maps, out, err, text = run_pid(tap, hierarchy, small)
    # (bpftrace prints the events of each CPU in order, not all in order)
    entered = re.findall(r"^(-?\d+) => leaf in %s:%d$" % (
        re.escape(small), src.index("def leaf(n):") + 1), text, re.M)
    left = re.findall(r"^(-?\d+) <= leaf in %s:%d$" % (
        re.escape(small), src.index("    return n + 1") + 1), text, re.M)
    tap.eq((out, len(entered), sorted(left)),
           ("done\n", 5, sorted(entered)),
           "the howto's call hierarchy: leaf() entered and left 5 times, "
           "at depths %s" % ",".join(entered), text[-3000:] + err)
    # calls per function: exact for the interpreter's or pyusdt's probe
    maps, out, err, text = run_pid(tap, calls)
    got = {(k[1], int(k[2])): n for k, n in maps.get("calls", {}).items()
           if k[0] == PROG}
    want = expected()["function__entry"]
    if "function__entry" in fires:
        got, want = got.get(("leaf", leaf_at)), 5
    tap.eq((out, got), ("done\n", want),
           "the howto's calls per function: exact counts", text[-3000:])
    # lines of loop(): exact
    maps, out, err, text = run_pid(tap, lines)
    got = {int(k[2]): n for k, n in maps.get("lines", {}).items()
           if k[0] == PROG and k[1] == "loop"}
    tap.eq((out, got), ("done\n", expected()["line"]),
           "the howto's lines run: loop()'s exact", text[-3000:])


UPROBE_EVENTS = "/sys/kernel/tracing/uprobe_events"


def test_perf_text(tap, perf, fires):
    """pyusdt --perf-events defines the library's probes as uprobe
    events with the strings as text: perf record and perf script show
    loop()'s lines (python:line) and leaf()'s entries, exactly."""
    defs = subprocess.run([PYTHON, "-m", "pyusdt", "--perf-events"],
                          env=python_env(), capture_output=True, text=True)
    names = [d.split()[0][2:] for d in defs.stdout.splitlines()]
    remove = [perf, "probe", "-q", "-d", "python:*", "-d", "pyusdt:*"]
    subprocess.run(remove, capture_output=True)
    try:
        # as the shell's >> does (Python's "a" mode seeks, which tracefs
        # refuses)
        fd = os.open(UPROBE_EVENTS, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, defs.stdout.encode())
        finally:
            os.close(fd)
    except OSError as e:
        tap.ok(False, "pyusdt --perf-events: the kernel takes the events",
               "%s\n%s%s" % (e, defs.stdout, defs.stderr))
        return
    data = tempfile.mktemp(prefix="pyusdt-perf-", suffix=".data")
    try:
        rec = subprocess.run(
            [perf, "record", "-q", "-o", data, "-e", "python:line", "-e",
             "pyusdt:PY_START", "--", PYTHON, "-m", "pyusdt", PROG],
            env=python_env(), capture_output=True, text=True, timeout=120)
        script = subprocess.run([perf, "script", "-i", data],
                                capture_output=True, text=True)
    finally:
        subprocess.run(remove, capture_output=True)
        if os.path.exists(data):
            os.unlink(data)
    lines, starts = {}, 0
    for text in script.stdout.splitlines():
        m = re.search(r'python:line: \(\w+\) filename="([^"]*)" '
                      r'funcname="loop" lineno=(\d+)$', text)
        if m and m.group(1) == PROG:
            lines[int(m.group(2))] = lines.get(int(m.group(2)), 0) + 1
        if re.search(r'pyusdt:PY_START: \(\w+\) name="leaf" file="%s" '
                     r'firstline=%d offset=0 qualname="leaf" '
                     r'location="leaf \(%s:%d\)"$'
                     % (re.escape(PROG), line_of("def leaf("),
                        re.escape(PROG), line_of("def leaf(")), text):
            starts += 1
    tap.eq((len(names), rec.returncode, lines, starts),
           (len(set(names)), 0, expected()["line"], 5),
           "perf script shows the probes' strings as text (pyusdt "
           "--perf-events, %d events): loop()'s lines %s, leaf() entered "
           "5 times" % (len(names), sorted(lines.items())),
           defs.stdout + rec.stderr + script.stdout[-3000:] +
           script.stderr)


def bcc_kernel_source():
    """(a BCC_KERNEL_SOURCE for bcc, a directory to remove afterwards, or
    why there is none).  bcc compiles its programs against the running
    kernel's headers (/lib/modules/RELEASE/build).  Without them, the
    headers of the distribution's kernel serve for programs of USDT
    probes: Debian splits them into linux-headers-*-common and -amd64,
    which are merged here into one tree of symlinks."""
    release = os.uname().release
    if os.path.isdir("/lib/modules/%s/build/include" % release):
        return None, None, None
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine)
    for common in sorted(glob.glob("/usr/src/linux-headers-*-common"),
                         reverse=True):
        built = common[:-len("common")] + (arch or "?")
        if os.path.isdir(built):
            tree = tempfile.mkdtemp(prefix="pyusdt-ksrc-")
            for d in (common, built):
                subprocess.run(["cp", "-rsf", d + "/.", tree], check=True)
            return tree, tree, None
    return None, None, "no kernel headers for bcc"


def bcc_run(tool, pid, env, ctl, calls, until=None):
    """Run bcc's tool -l python PID until it is attached, let the program
    call work() calls times, wait (up to 30 s) until(output) if given,
    then Ctrl-C: its output.  The pipe is read with os.read() only: lines
    that a buffered reader had taken in would not be seen by select()."""
    # bcc's tools are Python: unbuffered, their lines come as they print
    env = dict(env, PYTHONUNBUFFERED="1")
    p = subprocess.Popen([tool, "-l", "python", str(pid)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    fd = p.stdout.fileno()
    out = []

    def read_until(test, timeout):
        deadline = time.monotonic() + timeout
        while not test(b"".join(out).decode(errors="replace")) \
                and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return
                out.append(chunk)

    try:
        read_until(lambda text: "Ctrl-C" in text, 180)
        ctl.wait_state(
            lambda s: "python:function__entry" in s["attached"], 30)
        # uflow opens its perf buffer after it prints its header: events
        # before that are lost
        time.sleep(1)
        ctl.ask("work %d" % calls)
        if until is not None:
            read_until(until, 30)
        else:
            time.sleep(1)
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            # never leave a tracer behind
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        read_until(lambda text: False, 5)
        p.stdout.close()
    # detached: the next tool must not find these probes still attached
    ctl.wait_state(lambda s: not any(a.startswith("python:")
                                     for a in s["attached"]), 30)
    return b"".join(out).decode(errors="replace")


def test_bcc(tap, ucalls, uflow):
    """bcc's ucalls and uflow, unchanged, on a pyusdt program: each call
    of work() counted once, and its entries and returns in the flow."""
    source, tree, why = bcc_kernel_source()
    if why:
        tap.skip("bcc's ucalls and uflow", why)
        return
    env = dict(os.environ)
    if source:
        env["BCC_KERNEL_SOURCE"] = source
    ctl = Driven("ctl.py", hello="state")
    try:
        text = bcc_run(ucalls, ctl.pid, env, ctl, 100)
        m = re.search(r"serve\.py\.work\s+(\d+)", text)
        tap.eq(int(m.group(1)) if m else None, 100,
               "bcc ucalls -l python PID: 100 calls of work()", text)
        returns = re.compile(r"<- \S*serve\.py\.work\b")
        text = bcc_run(uflow, ctl.pid, env, ctl, 20,
                       lambda t: len(returns.findall(t)) >= 20)
        flow = re.findall(r"(->|<-) \S*serve\.py\.work\b", text)
        tap.eq((flow.count("->"), flow.count("<-")), (20, 20),
               "bcc uflow -l python PID: 20 entries and returns of work()",
               text[-3000:])
        status, err = ctl.finish("quit")
        tap.eq((status, err), (0, ""), "bcc: the program then ends "
               "normally")
    finally:
        if ctl.proc.poll() is None:
            ctl.kill()
        if tree:
            shutil.rmtree(tree, ignore_errors=True)


def main():
    tap = TAP()
    require_tracing(tap)
    fires = interpreter_fires()
    print("# the interpreter fires itself: %s"
          % (", ".join(sorted(fires)) or "none"))
    maps, out, err, _ = tap.run(run_pid) or ({}, "", "", "")
    tap.eq(out, "done\n", "by PID: the program runs as without tracing",
           err)
    check_counts(tap, "by PID (usdt:*:python:...)", maps, fires)
    exe = os.path.realpath(PYTHON)
    # the library's probes, and the interpreter's where it has them (a
    # probe bpftrace cannot find is an error)
    objects = {LIBRARY: ("function__entry", "function__return", "line")}
    if fires:
        objects[exe] = tuple(sorted(fires))
    maps, out, err = tap.run(run_system, objects) or ({}, "", "")
    tap.eq(out, "done\n", "system-wide: the program runs", err)
    check_counts(tap, "system-wide (the library and %s)"
                 % os.path.basename(exe), maps, fires)
    tap.run(test_attach, fires)
    tap.run(test_howto, fires)
    perf = shutil.which("perf")
    if perf and subprocess.run([perf, "--version"],
                               capture_output=True).returncode == 0:
        tap.run(test_perf, perf, fires)
        tap.run(test_perf_text, perf, fires)
    else:
        tap.skip("perf stat and bpftrace count the same run alike",
                 "no perf")
        tap.skip("perf script shows the probes' strings as text",
                 "no perf")
    ucalls = shutil.which("ucalls") or shutil.which("ucalls", path="/usr/sbin")
    uflow = shutil.which("uflow") or shutil.which("uflow", path="/usr/sbin")
    if ucalls and uflow:
        tap.run(test_bcc, ucalls, uflow)
    elif sys.version_info < (3, 14):
        # (Debian testing's bcc 0.35 does not compile against its own 7.2
        # kernel headers: its root has no bcc, and no test of it)
        tap.skip("bcc's ucalls and uflow", "no bcc (bpfcc-tools)")
    tap.done()


main()

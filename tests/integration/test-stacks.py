"""Python stacks read from BPF: profile.bt and offcpu.bt (their copies for
the build tree) attached by PID to tests/workloads/stacks.py once it is in
a known stack, compared with the stack the program reports itself
(sys._getframe), exactly; the frames it entered before bpftrace attached
are in it.  Threads, a generator, coroutines awaited through three
levels, recursion deeper than the cut, a thread with no Python frame, a
known sleep for offcpu.bt; pyusdt-flamegraph turns the output into
well-formed SVG that holds the frames."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.dom.minidom

from pyusdttest import (BUILDDIR, PYTHON, SRCDIR, TAP, Bpftrace,
                        python_env, require_tracing, workload)

SCRIPTS = os.path.join(BUILDDIR, "tests", "scripts")
FLAMEGRAPH = os.path.join(BUILDDIR, "pyusdt-flamegraph")
FOLDED = re.compile(r"^(\S.*) (\d+)$")


def stacks_missing():
    if sys.version_info < (3, 13):
        return "Python stacks need Python 3.13 or later"
    return None


class Program:
    """stacks.py CASE under pyusdt, up to its "ready" line."""

    def __init__(self, case, seconds=3):
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "pyusdt", workload("stacks.py"), case,
             str(seconds)], env=python_env(), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.reported = {}
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError("stacks.py %s: %r %s" % (
                case, line, self.proc.stderr.read()))
        for _ in range(3 if case == "threads" else 1):
            _, name, stack = self.proc.stdout.readline().rstrip(
                "\n").split(" ", 2)
            self.reported[name] = stack

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self):
        out, err = self.proc.communicate(timeout=120)
        return self.proc.returncode, out, err


def folded(text):
    """{stack: number} of the folded lines of a script's output."""
    out = {}
    for line in text.splitlines():
        m = FOLDED.match(line)
        if m and ";" in m.group(1) or (m and m.group(1).startswith("[")):
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
    return out


def bpftrace_version():
    out = subprocess.run([os.environ.get("BPFTRACE") or "bpftrace",
                          "--version"], capture_output=True, text=True)
    m = re.search(r"v(\d+)\.(\d+)", out.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def trace(script, case, args=(), seconds=3, way="pid"):
    """Run stacks.py CASE, attach SCRIPT once it is in its stack, then
    let it run: (program, its exit, {stack: number}, output).  way: "-p"
    (bpftrace -p PID), "pid" (the PID as the script's second argument,
    system-wide) or "system" (system-wide, every pyusdt process)."""
    prog = Program(case, seconds)
    args = list(args)
    if way == "pid":
        args = (args or ["0"]) + [prog.pid]
    bt = Bpftrace(script=os.path.join(SCRIPTS, script + ".bt"), args=args,
                  pid=prog.pid if way == "-p" else None, ready="Hit Ctrl-C")
    try:
        bt.start()
        # the poller fires STACK_LAYOUT every 10 ms (PYUSDT_CHECK_MSEC in
        # the tests): let bpftrace have it before the program runs on
        time.sleep(0.3)
        prog.go()
        status = prog.finish()
        if way == "-p":
            text = bt.wait(timeout=60)
        else:
            time.sleep(0.2)
            text = bt.stop()
    finally:
        bt.stop()
        if prog.proc.poll() is None:
            prog.proc.kill()
            prog.proc.wait()
    return prog, status, folded(text), text


def launched(case, seconds=3):
    """pyusdt --trace profile stacks.py CASE: (program, exit, stacks,
    output)."""
    fd, out = tempfile.mkstemp(prefix="pyusdt-stacks-", suffix=".txt")
    os.close(fd)
    proc = subprocess.Popen(
        [PYTHON, "-m", "pyusdt", "--trace",
         os.path.join(SCRIPTS, "profile.bt"), "--trace-output", out,
         workload("stacks.py"), case, str(seconds)], env=python_env(),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    while line and not line.startswith("ready"):
        line = proc.stdout.readline()     # bpftrace's "Attached N probes"
    reported = {}
    if line.startswith("ready"):
        _, name, stack = proc.stdout.readline().rstrip("\n").split(" ", 2)
        reported[name] = stack
    time.sleep(0.3)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    o, e = proc.communicate(timeout=120)
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    return reported, proc.returncode, folded(text), text + e


def spin_frame():
    with open(workload("stacks.py")) as f:
        for n, line in enumerate(f, 1):
            if line.startswith("def spin("):
                return "spin (%s:%d)" % (workload("stacks.py"), n)
    raise ValueError("no spin() in stacks.py")


def top(stacks):
    return max(stacks.items(), key=lambda kv: kv[1]) if stacks else (None, 0)


def test_profile(tap, case, hz="99", way="pid"):
    prog, status, stacks, text = trace("profile", case, [hz], way=way)
    want = prog.reported[case] + ";" + spin_frame()
    stack, n = top(stacks)
    tap.eq((status[0], stack), (0, want),
           "profile.bt %s Hz, %s, %s: the stack with most samples is the "
           "one the program reports (entered before attach), %d samples"
           % (hz, case, way, n), text)
    return prog, stacks, text


def test_launched(tap):
    reported, status, stacks, text = launched("main")
    stack, n = top(stacks)
    tap.eq((status, stack), (0, reported.get("main", "?") + ";" +
                             spin_frame()),
           "pyusdt --trace profile: the program's stack, %d samples" % n,
           text)


def test_threads(tap):
    prog, status, stacks, text = trace("profile", "threads")
    # three threads spinning in turn (the GIL): about 100 samples each
    for name, stack in sorted(prog.reported.items()):
        n = stacks.get(stack + ";" + spin_frame(), 0)
        tap.ok(n > 20, "profile.bt, threads: %s's own stack sampled %d "
               "times" % (name, n), text)


def test_deep(tap):
    prog, status, stacks, text = trace("profile", "deep")
    frames = (prog.reported["deep"] + ";" + spin_frame()).split(";")
    want = ";".join(["[...]"] + frames[-32:])
    stack, n = top(stacks)
    tap.eq(stack, want, "profile.bt, recursion %d frames deep: the 32 "
           "innermost under [...]" % len(frames), text)


def test_nopython(tap):
    prog, status, stacks, text = trace("profile", "nopython")
    n = stacks.get("[no Python frame]", 0)
    tap.ok(n > 50, "profile.bt: a thread with no Python frame counts as "
           "[no Python frame] (%d samples)" % n, text)


def test_offcpu(tap, way):
    prog, status, stacks, text = trace("offcpu", "sleep", seconds=2,
                                       way=way)
    slept = float(re.search(r"slept (\S+)", status[1]).group(1))
    want = prog.reported["sleep"]
    us = stacks.get(want, 0)
    tap.ok(abs(us / 1e6 - slept) <= 0.1 * slept,
           "offcpu.bt, %s: %.3f s blocked in nap()'s stack, the program "
           "slept %.3f s (within 10%%)" % (way, us / 1e6, slept), text)
    return text


def test_flamegraph(tap, text):
    with tempfile.NamedTemporaryFile("w", suffix=".txt",
                                     delete=False) as f:
        f.write(text)
    try:
        svg = subprocess.run([PYTHON, FLAMEGRAPH, f.name],
                             capture_output=True, text=True)
        folded_out = subprocess.run([PYTHON, FLAMEGRAPH, "--folded",
                                     f.name], capture_output=True,
                                    text=True)
    finally:
        os.unlink(f.name)
    try:
        doc = xml.dom.minidom.parseString(svg.stdout)
        titles = [t.firstChild.data for t in
                  doc.getElementsByTagName("title") if t.firstChild]
    except Exception as e:      # not well formed
        titles = ["not XML: %s" % e]
    tap.ok(svg.returncode == 0 and any(
        t.startswith("leaf (") for t in titles),
        "pyusdt-flamegraph: well-formed SVG with a frame per function "
        "(%d frames)" % len(titles), svg.stderr + "\n".join(titles[:10]))
    xmllint = shutil.which("xmllint")
    if xmllint:
        p = subprocess.run([xmllint, "--noout", "-"], input=svg.stdout,
                           capture_output=True, text=True)
        tap.eq((p.returncode, p.stderr), (0, ""),
               "pyusdt-flamegraph: xmllint finds the SVG well formed")
    tap.eq(folded_out.stdout, "".join(
        "%s %d\n" % kv for kv in sorted(folded(text).items())),
        "pyusdt-flamegraph --folded: the folded stacks, merged and sorted")
    empty = subprocess.run([PYTHON, FLAMEGRAPH], input="no stacks here\n",
                           capture_output=True, text=True)
    tap.eq((empty.returncode, empty.stderr),
           (1, "pyusdt-flamegraph: no folded stacks in the input\n"),
           "pyusdt-flamegraph: no stack: status 1, one line")


def main():
    tap = TAP()
    require_tracing(tap, stacks_missing)
    for case in ("generator", "coroutine"):
        tap.run(test_profile, case)
    r = tap.run(test_profile, "main", "999")
    tap.run(test_profile, "main", "99", "system")
    if bpftrace_version() < (0, 24):
        # later ones sample only the threads they attach to with -p (see
        # profile.bt's header): stacks.py's run in a thread started before
        tap.run(test_profile, "main", "99", "-p")
    tap.run(test_launched)
    tap.run(test_threads)
    tap.run(test_deep)
    tap.run(test_nopython)
    for way in ("-p", "pid", "system"):
        tap.run(test_offcpu, way)
    if r:
        tap.run(test_flamegraph, r[2])
    tap.done()


main()

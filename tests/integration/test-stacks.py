"""Python stacks read from BPF: profile.bt and offcpu.bt (their copies for
the build tree) attached by PID to tests/workloads/stacks.py once it is in
a known stack, compared with the stack the program reports itself
(sys._getframe), exactly; the frames it entered before bpftrace attached
are in it.  Threads, a generator, coroutines awaited through three
levels, recursion deeper than the cut, a thread with no Python frame, a
name that is not ASCII, a known sleep for offcpu.bt; pyusdt-flamegraph
turns the output into well-formed SVG that holds the frames, and that
headless Chromium draws as a flame graph; austin, sampling the same program from outside, takes
the same stack as profile.bt (Debian 13 has austin 3.7, which reads
Python up to 3.13; testing has no austin package, so the comparison runs
on 3.13 only)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.dom.minidom
import zlib

from pyusdttest import (BUILDDIR, PYTHON, TAP, Bpftrace,
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

    def __init__(self, case, seconds=3, tls=1):
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "pyusdt", workload("stacks.py"), case,
             str(seconds)], env=python_env(PYUSDT_STACK_TLS=tls),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.reported = {}
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError("stacks.py %s: %r %s" % (
                case, line, self.proc.stderr.read()))
        self.threads_way = line.split()[2]
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
        # a stack: frames "QUALNAME (FILE:LINE)" or marks "[...]"
        if m and (m.group(1).endswith(")") or m.group(1).startswith("[")):
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
    return out


def bpftrace_version():
    out = subprocess.run([os.environ.get("BPFTRACE") or "bpftrace",
                          "--version"], capture_output=True, text=True)
    m = re.search(r"v(\d+)\.(\d+)", out.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def trace(script, case, args=(), seconds=3, way="pid", during=None, tls=1):
    """Run stacks.py CASE, attach SCRIPT once it is in its stack, then
    let it run: (program, its exit, {stack: number}, output).  way: "-p"
    (bpftrace -p PID), "pid" (the PID as the script's second argument,
    system-wide) or "system" (system-wide, every pyusdt process).
    during(program) runs while the program runs its case.  tls=0: the
    program has the script find its threads in the thread list."""
    prog = Program(case, seconds, tls)
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
        if during:
            during(prog)
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


def by(tls):
    return "" if tls else ", from the thread list"


def test_profile(tap, case, hz="99", way="pid", tls=1):
    prog, status, stacks, text = trace("profile", case, [hz], way=way,
                                       tls=tls)
    want = prog.reported[case] + ";" + spin_frame()
    stack, n = top(stacks)
    tap.eq((prog.threads_way, status[0], stack),
           ("tls" if tls else "list", 0, want),
           "profile.bt %s Hz, %s, %s%s: the stack with most samples is the "
           "one the program reports (entered before attach), %d samples"
           % (hz, case, way, by(tls), n), text)
    return prog, stacks, text


def test_launched(tap):
    reported, status, stacks, text = launched("main")
    stack, n = top(stacks)
    tap.eq((status, stack), (0, reported.get("main", "?") + ";" +
                             spin_frame()),
           "pyusdt --trace profile: the program's stack, %d samples" % n,
           text)


def test_threads(tap, tls=1):
    prog, status, stacks, text = trace("profile", "threads", tls=tls)
    # three threads spinning in turn (the GIL): about 100 samples each
    # when the machine is idle, fewer for one of them on a loaded machine
    for name, stack in sorted(prog.reported.items()):
        n = stacks.get(stack + ";" + spin_frame(), 0)
        tap.ok(n >= 10 and prog.threads_way == ("tls" if tls else "list"), "profile.bt, threads%s: %s's own stack sampled %d "
               "times" % (by(tls), name, n), text)


def test_deep(tap):
    prog, status, stacks, text = trace("profile", "deep")
    frames = (prog.reported["deep"] + ";" + spin_frame()).split(";")
    want = ";".join(["[...]"] + frames[-32:])
    stack, n = top(stacks)
    tap.eq(stack, want, "profile.bt, recursion %d frames deep: the 32 "
           "innermost under [...]" % len(frames), text)


def test_unicode(tap):
    prog, status, stacks, text = trace("profile", "unicode")
    want = prog.reported["unicode"].replace("grüße (", "<non-ASCII> (") + \
        ";" + spin_frame()
    stack, n = top(stacks)
    tap.eq(stack, want, "profile.bt: a function whose name is not ASCII "
           "reads <non-ASCII> (%d samples)" % n, text)


def test_nopython(tap):
    prog, status, stacks, text = trace("profile", "nopython")
    n = stacks.get("[no Python frame]", 0)
    tap.ok(n > 50, "profile.bt: a thread with no Python frame counts as "
           "[no Python frame] (%d samples)" % n, text)


def test_offcpu(tap, way, tls=1):
    prog, status, stacks, text = trace("offcpu", "sleep", seconds=2,
                                       way=way, tls=tls)
    slept = float(re.search(r"slept (\S+)", status[1]).group(1))
    want = prog.reported["sleep"]
    us = stacks.get(want, 0)
    tap.ok(abs(us / 1e6 - slept) <= 0.1 * slept and
           prog.threads_way == ("tls" if tls else "list"),
           "offcpu.bt, %s%s: %.3f s blocked in nap()'s stack, the program "
           "slept %.3f s (within 10%%)" % (way, by(tls), us / 1e6, slept),
           text)
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
    chromium = shutil.which("chromium")
    if chromium:
        tap.run(test_screenshot, chromium, svg.stdout)
    else:
        tap.skip("chromium draws the flame graph", "no chromium")
    tap.eq(folded_out.stdout, "".join(
        "%s %d\n" % kv for kv in sorted(folded(text).items())),
        "pyusdt-flamegraph --folded: the folded stacks, merged and sorted")
    empty = subprocess.run([PYTHON, FLAMEGRAPH], input="no stacks here\n",
                           capture_output=True, text=True)
    tap.eq((empty.returncode, empty.stderr),
           (1, "pyusdt-flamegraph: no folded stacks in the input\n"),
           "pyusdt-flamegraph: no stack: status 1, one line")


def austin_stacks(text):
    """{(thread, ((qualname, file), ...)): samples} of austin's output,
    where a frame reads FILE:QUALNAME:LINE."""
    out = {}
    for line in text.splitlines():
        if not line.startswith("P"):
            continue
        stack, _, n = line.rpartition(" ")
        fields = stack.split(";")
        frames = tuple(tuple(reversed(f.rsplit(":", 2)[:2]))
                       for f in fields[2:])
        key = (fields[1], frames)
        out[key] = out.get(key, 0) + int(n)
    return out


def frames_of(folded_stack):
    """((qualname, file), ...) of a folded stack of profile.bt."""
    out = []
    for frame in folded_stack.split(";"):
        m = re.match(r"^(.*) \((.*):\d+\)$", frame)
        out.append((m.group(1), m.group(2)) if m else (frame, ""))
    return tuple(out)


def test_austin(tap, austin):
    """austin samples the program from outside for a second (on-CPU
    samples), profile.bt by PID at the same time: the stack each saw most
    is the same one
    (austin gives each frame's current line, profile.bt its first line:
    the frames are compared by function and file)."""
    seen = {}

    def sample(prog):
        # -s: on-CPU samples only, as profile.bt takes them (in wall
        # time, the main thread waiting in join() weighs as much)
        p = subprocess.run([austin, "-s", "-i", "1ms", "-x", "1", "-p",
                            str(prog.pid)], capture_output=True, text=True,
                           timeout=60, env=tool_env())
        seen["austin"] = p.stdout
        seen["error"] = p.stderr[-2000:]

    prog, status, stacks, text = trace("profile", "main", ["99"],
                                       during=sample)
    ours, n = top(stacks)
    theirs = austin_stacks(seen.get("austin", ""))
    (thread, best), m = (max(theirs.items(), key=lambda kv: kv[1])
                         if theirs else ((None, ()), 0))
    # austin's "metric" is microseconds (of CPU time, with -s)
    mine = frames_of(ours or "")
    left = ["profile.bt 99 Hz: %d samples" % n] + [
        "%s (%s)" % f for f in mine]
    right = ["austin 1 ms: %.3f s" % (m / 1e6)] + [
        "%s (%s)" % f for f in best]
    width = max(len(a) for a in left) + 2
    side = ["%-*s%s" % (width, left[i] if i < len(left) else "",
                        right[i] if i < len(right) else "")
            for i in range(max(len(left), len(right)))]
    for line in side:
        print("# " + line)
    tap.eq(best, mine, "austin and profile.bt take the same stack of the "
           "same program (%d frames)" % len(mine),
           seen.get("error", "") + text)


def png_pixels(path):
    """(width, height, [(r, g, b), ...]) of an 8-bit RGB or RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    pos, idat = 8, b""
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width = int.from_bytes(body[0:4], "big")
            height = int.from_bytes(body[4:8], "big")
            depth, ctype = body[8], body[9]
            if depth != 8 or ctype not in (2, 6):
                raise ValueError("PNG of depth %d, color type %d"
                                 % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    pixels = []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        pixels += [tuple(line[i:i + 3]) for i in range(0, stride, bpp)]
        prev = line
    return width, height, pixels


def tool_env(**extra):
    """The environment for a program of the machine's (chromium, austin):
    without the sanitizer runtime a sanitized build preloads for Python."""
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.endswith("SAN_OPTIONS")}
    env.update(extra)
    return env


def test_screenshot(tap, chromium, svg):
    """Headless Chromium draws the SVG: frames in pyusdt-flamegraph's
    warm colors over a good part of the picture, with text on them."""
    d = tempfile.mkdtemp(prefix="pyusdt-shot-")
    try:
        with open(os.path.join(d, "flame.svg"), "w") as f:
            f.write(svg)
        shot = os.path.join(d, "flame.png")
        p = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--hide-scrollbars", "--window-size=1200,600",
             "--user-data-dir=" + os.path.join(d, "profile"),
             "--screenshot=" + shot, "file://" + d + "/flame.svg"],
            capture_output=True, text=True, timeout=120,
            env=tool_env(HOME=d))
        if not os.path.exists(shot):
            tap.ok(False, "chromium draws the flame graph", p.stderr)
            return
        keep = os.environ.get("PYUSDT_TEST_SCREENSHOT")
        if keep:
            shutil.copy(shot, keep)
        width, height, pixels = png_pixels(shot)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    warm = sum(1 for r, g, b in pixels if r >= 205 and b < 55 and g >= 80)
    dark = sum(1 for r, g, b in pixels if r + g + b < 150)
    tap.ok((width, height) == (1200, 600) and warm > 0.05 * len(pixels)
           and dark > 500,
           "chromium draws the flame graph: %dx%d, %.0f%% in frame colors, "
           "%d dark (text) pixels" % (width, height,
                                     100.0 * warm / len(pixels), dark))


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
    tap.run(test_unicode)
    for way in ("-p", "pid", "system"):
        tap.run(test_offcpu, way)
    # the second way to a thread's PyThreadState, its interpreter's list
    tap.run(test_profile, "main", "99", "pid", 0)
    tap.run(test_threads, 0)
    tap.run(test_offcpu, "pid", 0)
    if r:
        tap.run(test_flamegraph, r[2])
    austin = shutil.which("austin")
    if austin:
        tap.run(test_austin, austin)
    elif sys.version_info < (3, 14):
        tap.skip("austin and profile.bt take the same stack", "no austin")
    tap.done()


main()

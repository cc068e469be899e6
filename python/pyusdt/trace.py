"""pyusdt --trace: find the bpftrace script, check it is for this pyusdt,
run bpftrace on this process and stop it when the program ends."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pyusdt
from pyusdt.errors import fail as _fail


class TraceError(Exception):
    """A --trace set-up failure: message and exit status."""

    def __init__(self, message, status):
        Exception.__init__(self, message)
        self.status = status


TRACE_NOT_ROOT = 3
TRACE_NO_BPFTRACE = 4
TRACE_NO_SCRIPT = 5
TRACE_NO_ATTACH = 6
TRACE_ATTACH_TIMEOUT = 60.0
TRACE_SETTLE_LIMIT = 5.0

_PROBE_SPEC = re.compile(r"usdt:([^:\s]*):pyusdt:([A-Z_]+)")


def _script_dirs():
    """Where a SCRIPT given by name is looked for."""
    dirs = []
    if os.environ.get("PYUSDT_SCRIPT_DIR"):
        dirs.append(os.environ["PYUSDT_SCRIPT_DIR"])
    # the data directory of the prefix of the probe library
    # (PREFIX/lib/.../pyusdt/libpyusdt.so -> PREFIX/share/pyusdt)
    parts = pyusdt.LIBRARY.split(os.sep)
    for i, part in enumerate(parts):
        if re.fullmatch(r"lib(32|64|x32)?", part) and i > 0:
            dirs.append(os.sep.join(parts[:i] + ["share", "pyusdt"]))
            break
    dirs += ["/usr/local/share/pyusdt", "/usr/share/pyusdt"]
    seen = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def find_script(name):
    """The path of the script NAME, or None.  A NAME with a "/" names a
    file (./top.bt, /tmp/x.bt); one without (top, top.bt) names a script
    of the script directories only, never a file of the current
    directory: --trace runs bpftrace as root, and root in /tmp must not
    run whatever /tmp/top holds."""
    if os.sep in name:
        return name if os.path.isfile(name) else None
    for d in _script_dirs():
        for candidate in (name, name + ".bt"):
            path = os.path.join(d, candidate)
            if os.path.isfile(path):
                return path
    return None


_PROBE_SPEC_PATH = re.compile(r"usdt:[^:\s]*:pyusdt:")
# a script's filter, for pyusdt --trace: "// pyusdt-filter: PATTERNS" on a
# line of its own, $1, $2, ... standing for the script's arguments
_FILTER_LINE = re.compile(r"^//[ \t]*pyusdt-filter:[ \t]*(\S.*?)[ \t]*$",
                          re.M)


def script_filter(text, args):
    """The filter a script asks for with its arguments, or None (none
    asked, or an argument it names not given)."""
    m = _FILTER_LINE.search(text)
    if not m:
        return None
    missing = []

    def arg(a):
        n = int(a.group(1))
        if n > len(args):
            missing.append(n)
            return ""
        return args[n - 1]

    patterns = re.sub(r"\$(\d+)", arg, m.group(1))
    return None if missing else patterns


class Tracer:
    """bpftrace running SCRIPT on this very process (bpftrace -p), which
    has pyusdt's probe library loaded already, as every bpftrace version
    needs to attach to it."""

    def __init__(self, script, args=(), output=None):
        self.name = script
        self.args = list(args)
        self.output = output
        self.proc = None
        self.owner = None
        self.wanted = ()
        self.filter = None

    def check(self):
        """Find what tracing needs; TraceError if something is missing."""
        if os.geteuid() != 0:
            raise TraceError("--trace needs root: bpftrace attaches to the "
                             "probes as root only", TRACE_NOT_ROOT)
        bpftrace = os.environ.get("BPFTRACE") or shutil.which(
            "bpftrace", path=os.environ.get("PATH", os.defpath)
            + ":/usr/sbin:/sbin")
        if not bpftrace or not os.access(bpftrace, os.X_OK):
            raise TraceError("--trace needs bpftrace, which is not "
                             "installed (or set BPFTRACE)", TRACE_NO_BPFTRACE)
        self.bpftrace = bpftrace
        path = find_script(self.name)
        if path is None:
            raise TraceError("no bpftrace script %r (a file, or one of %s)"
                             % (self.name, ", ".join(_script_dirs())),
                             TRACE_NO_SCRIPT)
        self.script = path
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            specs = _PROBE_SPEC.findall(text)
            self.filter = script_filter(text, self.args)
        except OSError as e:
            raise TraceError("cannot read %s: %s" % (path, e.strerror),
                             TRACE_NO_SCRIPT)
        ours = os.path.realpath(pyusdt.LIBRARY)

        def is_ours(lib):
            # a wildcard ("usdt:*:pyusdt:...") means the library of -p
            return "*" in lib or not lib or os.path.realpath(lib) == ours

        libs = {lib for lib, _ in specs}
        if libs and not any(is_ours(lib) for lib in libs):
            raise TraceError("%s traces %s, but this pyusdt's probes are in "
                             "%s" % (path, ", ".join(sorted(libs)), ours),
                             TRACE_NO_SCRIPT)
        self.wanted = {probe for lib, probe in specs if is_ours(lib)}

    def program(self):
        """The script's text with its probes named by wildcard.  With -p,
        bpftrace 0.27 attaches a probe named by path twice (the path and
        /proc/PID/root/path), counting every hit twice; usdt:*:pyusdt:X
        attaches once, on 0.23 as on 0.27."""
        with open(self.script, encoding="utf-8") as f:
            text = f.read()
        if text.startswith("#!"):
            text = "//" + text[2:]
        return _PROBE_SPEC_PATH.sub(r"usdt:*:pyusdt:", text)

    def start(self, timeout=TRACE_ATTACH_TIMEOUT):
        """Start bpftrace and return once it is attached to the probes of
        the script (they are then on in this process)."""
        self.owner = os.getpid()
        cmd = [self.bpftrace, "-p", str(self.owner)]
        if self.output is not None:
            cmd += ["-o", self.output]
        cmd += ["-e", self.program()] + self.args
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            # its own session: Ctrl-C stops the program, which then ends
            # bpftrace and waits for its report
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        except OSError as e:
            raise TraceError("cannot run %s: %s" % (self.bpftrace,
                                                    e.strerror),
                             TRACE_NO_BPFTRACE)
        # Once a probe is attached, a Python function called here would be
        # traced, perhaps in part (its entry but not its exit): the loop
        # calls builtins only.
        #
        # Every semaphore up is not enough: with bpftrace 0.27, events fired
        # just after they went up were sometimes missed while bpftrace was
        # still busy (latency.bt counted none of a function's calls, about
        # one run in ten under load).  The program starts once bpftrace
        # has also been idle (no CPU time used) for 0.1 s, or after
        # TRACE_SETTLE_LIMIT seconds.
        pid = self.proc.pid
        stat = "/proc/%d/stat" % pid
        deadline = time.monotonic() + timeout
        settled = None
        last, still = None, 0
        while True:
            st = pyusdt.refresh()
            attached = set(st["attached"])
            if st.get("stack_layout"):
                attached.add("STACK_LAYOUT")
            if attached and attached >= self.wanted:
                if settled is None:
                    settled = time.monotonic() + TRACE_SETTLE_LIMIT
                try:
                    with open(stat, "rb") as f:
                        busy = f.read().rpartition(b")")[2].split()[11:13]
                except OSError:
                    busy = None
                still = still + 1 if busy == last else 0
                last = busy
                if still >= 10 or time.monotonic() > settled:
                    return
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.proc = None
                raise TraceError("bpftrace exited (status %d) before it "
                                 "attached to the probes"
                                 % os.waitstatus_to_exitcode(status),
                                 TRACE_NO_ATTACH)
            if time.monotonic() > deadline:
                self.stop()
                raise TraceError("bpftrace did not attach to the probes in "
                                 "%d s" % timeout, TRACE_NO_ATTACH)
            time.sleep(0.01)

    def stop(self):
        """End bpftrace as Ctrl-C does and wait for its last output; its
        exit status (None if it was not running, or if this is a child
        forked by the program, which must leave its parent's bpftrace
        alone)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if os.getpid() != self.owner:
            # not this process's child: never waited for, and no
            # ResourceWarning "subprocess ... is still running" about it
            proc.returncode = 0
            return None
        sys.stdout.flush()
        sys.stderr.flush()
        # bpftrace drops the events it has not read when it ends: let it
        # work until its CPU time stops growing (0.1 s, at most 10)
        stat = "/proc/%d/stat" % proc.pid
        last, still = None, 0
        deadline = time.monotonic() + 10
        while still < 2 and time.monotonic() < deadline:
            try:
                with open(stat, "rb") as f:
                    busy = f.read().rpartition(b")")[2].split()[11:13]
            except OSError:
                break
            still = still + 1 if busy == last else 0
            last = busy
            time.sleep(0.05)
        try:
            os.kill(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 120
        done, status = os.waitpid(proc.pid, os.WNOHANG)
        while not done and time.monotonic() < deadline:
            time.sleep(0.01)
            done, status = os.waitpid(proc.pid, os.WNOHANG)
        if not done:
            os.kill(proc.pid, signal.SIGKILL)
            done, status = os.waitpid(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        return proc.returncode

    def run_on(self, pid):
        """bpftrace -p PID on the script, until it ends or Ctrl-C ends
        it: its exit status."""
        cmd = [self.bpftrace, "-p", str(pid)]
        if self.output is not None:
            cmd += ["-o", self.output]
        cmd += ["-e", self.program()] + self.args
        sys.stdout.flush()
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        except OSError as e:
            return _fail("cannot run %s: %s" % (self.bpftrace, e.strerror),
                         TRACE_NO_BPFTRACE)
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                # bpftrace has the Ctrl-C too: wait for its report
                continue

    def stop_at_exit(self):
        """stop(), from atexit: after the program's own exit handlers and
        its threads, which are traced to their end."""
        status = self.stop()
        if status:
            _fail("bpftrace ended with status %d" % status, 0)

"""Helpers for pyusdt's integration tests: TAP output, bpftrace, workloads.

Each test is a Python script that prints TAP; automake's TAP driver reads
it.  A test that needs what the machine lacks (root, bpftrace, tracefs)
prints a "1..0 # SKIP" plan: the driver counts it as skipped.
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import traceback

PYTHON = os.environ.get("PYTHON") or sys.executable
BPFTRACE = os.environ.get("BPFTRACE") or shutil.which("bpftrace") or ""
LIBRARY = os.environ.get("PYUSDT_TEST_LIBRARY", "")
SRCDIR = os.environ.get("PYUSDT_TEST_SRCDIR",
                        os.path.dirname(os.path.dirname(
                            os.path.dirname(os.path.abspath(__file__)))))
BUILDDIR = os.environ.get("PYUSDT_TEST_BUILDDIR", SRCDIR)
WORKLOADS = os.path.join(SRCDIR, "tests", "workloads")


class TAP:
    """Minimal TAP producer: ok/not ok lines, plan at the end."""

    def __init__(self):
        self.count = 0
        self.failed = 0
        # An exception nothing caught ends the file with a failed test
        # that shows it, and the plan: never "missing test plan"
        sys.excepthook = self._died

    def _died(self, typ, value, tb):
        self.ok(False, "the test file died: %s" % typ.__name__,
                "".join(traceback.format_exception(typ, value, tb)))
        print("1..%d" % self.count)
        sys.stdout.flush()

    def run(self, test, *args):
        """test(self, *args); an exception in it (a bpftrace that did
        not start, a workload that ended) is a failed test showing the
        error, bpftrace's own lines included, and the file goes on."""
        try:
            return test(self, *args)
        except Exception:
            self.ok(False, "%s%r raised" % (test.__name__, args),
                    traceback.format_exc())
            return None

    def ok(self, cond, name, diag=None):
        self.count += 1
        if not cond:
            self.failed += 1
        print("%sok %d - %s" % ("" if cond else "not ", self.count, name))
        if not cond and diag is not None:
            for line in str(diag).splitlines() or [""]:
                print("# " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, name, more=None):
        """ok(got == want); on failure, both and then more (the output
        the values were read from, say)."""
        diag = "got:  %r\nwant: %r" % (got, want)
        if more is not None:
            diag += "\n" + str(more)
        return self.ok(got == want, name, diag)

    def skip(self, name, reason):
        """A test this machine cannot run: automake counts it skipped."""
        self.count += 1
        print("ok %d - %s # SKIP %s" % (self.count, name, reason))
        sys.stdout.flush()

    def skip_all(self, reason):
        print("1..0 # SKIP %s" % reason)
        sys.exit(0)

    def done(self):
        print("1..%d" % self.count)
        sys.exit(1 if self.failed else 0)


def tracing_missing():
    """Why tracing tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root"
    if not BPFTRACE or not os.access(BPFTRACE, os.X_OK):
        return "needs bpftrace"
    if not os.path.isdir("/sys/kernel/tracing/events"):
        return "needs tracefs on /sys/kernel/tracing"
    if not LIBRARY or not os.path.exists(LIBRARY):
        return "probe library not built (%s)" % LIBRARY
    return None


_LOCK = None


def require_tracing(tap, *checks):
    """Skip unless tracing works here, and unless each of checks (functions
    returning why something is missing, or None) finds nothing missing;
    then hold the machine-wide tracing lock for the rest of the test: a
    system-wide tracer raises the probe semaphores in every process, so
    tracing tests must not overlap."""
    for missing in (tracing_missing,) + checks:
        why = missing()
        if why:
            tap.skip_all(why)
    tracing_lock()


def tracing_lock():
    """Hold the lock for the rest of this test.  Tests that start many
    pyusdt processes take it too: a system-wide tracer would count them."""
    global _LOCK
    import fcntl
    if _LOCK is None:
        _LOCK = open("/tmp/pyusdt-tracing-tests.lock", "w")
        fcntl.flock(_LOCK, fcntl.LOCK_EX)


def bpf_programs(pid):
    """The BPF programs process pid holds: [{id, name, verified_insns,
    run_time_ns, run_cnt}], from /proc/PID/fdinfo (the kernel's counts)
    and bpftool (the names; "prog ID" without bpftool)."""
    progs = []
    fddir = "/proc/%d/fd" % pid
    for fd in os.listdir(fddir):
        try:
            if "bpf-prog" not in os.readlink(os.path.join(fddir, fd)):
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = dict(line.split(":", 1) for line in f
                            if ":" in line)
        except OSError:
            continue
        progs.append({"id": int(info["prog_id"]),
                      "verified_insns": int(info.get("verified_insns", 0)),
                      "run_time_ns": int(info.get("run_time_ns", 0)),
                      "run_cnt": int(info.get("run_cnt", 0))})
    names = {}
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    if os.access(bpftool, os.X_OK):
        out = subprocess.run([bpftool, "-j", "prog", "show"],
                             capture_output=True, text=True).stdout
        try:
            names = {p["id"]: p.get("name", "") for p in json.loads(out)}
        except ValueError:
            pass
    for p in progs:
        p["name"] = names.get(p["id"]) or "prog %d" % p["id"]
    return progs


def probe(name, library=None):
    return "usdt:%s:pyusdt:%s" % (library or LIBRARY, name)


def python_env(**extra):
    env = dict(os.environ)
    env.setdefault("PYUSDT_CHECK_MSEC", "10")
    env.update({k: str(v) for k, v in extra.items()})
    return env


MAP_LINE = re.compile(r"^@(\w*)(?:\[(.*)\])?: (-?\d+)$")


def parse_maps(text):
    """{map name: {key tuple: int}} from bpftrace's printed maps (keys are
    split on ", "; test workloads avoid that in names)."""
    maps = {}
    for line in text.splitlines():
        m = MAP_LINE.match(line.strip())
        if not m:
            continue
        name, key, value = m.groups()
        keys = tuple(k for k in key.split(", ")) if key is not None else ()
        maps.setdefault(name, {})[keys] = int(value)
    return maps


class Bpftrace:
    """bpftrace running a program (text or script file), system-wide or
    on one PID; started by start(), ended by stop() (SIGINT, then its END
    output is collected)."""

    def __init__(self, program=None, script=None, args=(), pid=None,
                 ready="READY", add_ready=True, extra=()):
        cmd = [BPFTRACE]
        if pid is not None:
            cmd += ["-p", str(pid)]
        cmd += list(extra)
        if script is not None:
            cmd += [script]
        else:
            if add_ready:
                program = 'BEGIN { printf("READY\\n"); }\n' + program
            cmd += ["-e", program]
        cmd += [str(a) for a in args]
        self.cmd = cmd
        self.ready = ready
        self.proc = None
        self.out = []
        self.err = ""

    def start(self, timeout=180, env=None):
        env = dict(os.environ, **(env or {}))
        # bpftrace takes these over a script's own config: what a script
        # sets, it runs with, as its users run it (with 0.23, the stack
        # scripts' loop visits every one of max_map_keys buckets)
        config = self._script_config()
        for key, value in (("max_strlen", "300"),
                           ("max_map_keys", "65536"),
                           # printf records of 300-byte strings fill the
                           # default ring fast
                           ("perf_rb_pages", "1024")):
            if key not in config:
                env.setdefault("BPFTRACE_" + key.upper(), value)
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env,
                                     text=True, bufsize=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                if line == "":
                    break
                self.out.append(line)
                if self.ready is None or self.ready in line:
                    self._drain()
                    self._wait_semaphores(deadline)
                    return self
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("bpftrace did not start in %ds: %s\n%s%s"
                           % (timeout, " ".join(self.cmd), "".join(self.out),
                              self.err))

    def _script_text(self):
        """The text of the script file bpftrace runs, or ""."""
        for arg in self.cmd[1:]:
            if arg.endswith(".bt") and os.path.exists(arg):
                with open(arg) as f:
                    return f.read()
        return ""

    def _script_config(self):
        """The text of the script's config line, or ""."""
        m = re.search(r"^config\s*=\s*\{[^}]*\}", self._script_text(), re.M)
        return m.group(0) if m else ""

    def _drain(self):
        """Read bpftrace's output as it comes: a full pipe would block it
        (it then looks idle, and stopping it loses what it holds)."""
        import threading
        self._err = []

        def pump(stream, into):
            for line in stream:
                into.append(line)

        self._readers = [
            threading.Thread(target=pump, args=(self.proc.stdout, self.out),
                             daemon=True),
            threading.Thread(target=pump, args=(self.proc.stderr, self._err),
                             daemon=True)]
        for t in self._readers:
            t.start()

    def _collect(self, timeout):
        """Wait for bpftrace to end and for the readers to finish."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for t in self._readers:
            t.join(timeout=30)
        self.err = "".join(self._err)
        self.proc = None
        return "".join(self.out)

    def _wait_semaphores(self, deadline):
        """bpftrace 0.27 may run BEGIN before the uprobes' semaphores are
        raised: for a system-wide tracer of the build's probe library,
        wait until a new process that loads it sees a probe attached."""
        text = " ".join(self.cmd) + self._script_text()
        if "-p" in self.cmd or not LIBRARY or LIBRARY not in text:
            return
        code = ("import pyusdt, time, sys\n"
                "t = time.monotonic() + %f\n"
                "while not (pyusdt.refresh()['attached']\n"
                "           or pyusdt.state()['stack_layout']):\n"
                "    if time.monotonic() > t: sys.exit(1)\n"
                "    time.sleep(0.01)\n"
                % max(1.0, deadline - time.monotonic()))
        if subprocess.run([PYTHON, "-c", code], env=python_env()).returncode:
            self.stop()
            raise RuntimeError("bpftrace started, but no probe semaphore "
                               "went up: %s" % text)

    def stop(self, timeout=60):
        """SIGINT, wait, return everything bpftrace printed on stdout."""
        if self.proc is None:
            return "".join(self.out)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        if getattr(self, "_readers", None):
            return self._collect(timeout)
        try:
            rest, self.err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest, self.err = self.proc.communicate()
        self.out.append(rest)
        self.proc = None
        return "".join(self.out)

    def wait(self, timeout=60):
        """Wait for bpftrace to end by itself (exit() or -p target gone)."""
        if getattr(self, "_readers", None):
            return self._collect(timeout)
        try:
            rest, self.err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            return self.stop()
        self.out.append(rest)
        self.proc = None
        return "".join(self.out)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def run_python(args, env=None, timeout=120, **kw):
    """Run PYTHON with args; a CompletedProcess with text output."""
    return subprocess.run([PYTHON] + list(args), env=env or python_env(),
                          capture_output=True, text=True, timeout=timeout,
                          **kw)


def workload(name):
    return os.path.join(WORKLOADS, name)


def workload_normalized(name):
    """A workload's path, normalized: in a VPATH build (make distcheck) the
    source directory is reached through "..", which python3 -m pyusdt and
    multiprocessing's spawn remove from the file name the probes carry."""
    return os.path.normpath(workload(name))


class Driven:
    """A workload driven over stdin/stdout: a command per line, one JSON
    line in reply (tests/workloads/serve.py's loop).  With hello, that
    command is asked first and its reply kept in .hello."""

    def __init__(self, name, args=(), env=None, via_launcher=True,
                 python=None, hello=None, python_args=(), user=None):
        cmd = [python or PYTHON] + list(python_args)
        if via_launcher:
            cmd += ["-m", "pyusdt"]
        cmd += [workload_normalized(name)] + list(args)
        self.proc = subprocess.Popen(
            cmd, env=env or python_env(), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            bufsize=1, start_new_session=True, user=user)
        self.pid = self.proc.pid
        self.hello = self.ask(hello) if hello else None

    def ask(self, line, timeout=60):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.read(timeout)

    def read(self, timeout=60):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            raise RuntimeError("no reply from pid %d in %ds"
                               % (self.pid, timeout))
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError("workload ended: %s" % self.proc.stderr.read())
        return json.loads(reply)

    def wait_state(self, key, want=None, timeout=10.0):
        """Ask "state" until state[key] == want, or until key(state) with
        a function for key: (ok, last state)."""
        t0 = time.monotonic()
        while True:
            st = self.ask("state")
            if (key(st) if callable(key) else st[key] == want):
                return True, st
            if time.monotonic() - t0 > timeout:
                return False, st
            time.sleep(0.005)

    def finish(self, line=None, timeout=60):
        """Send line (e.g. "exit 0"), close stdin, wait: (status, stderr)."""
        try:
            _out, err = self.proc.communicate(
                None if line is None else line + "\n", timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return "hung", ""
        return self.proc.returncode, err

    def kill(self):
        """Kill the workload and any child it forked (its process group)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.communicate()


def attach_pid(pid, probes, function="work"):
    """bpftrace on one process counting the probes' hits in `function`,
    per probe and thread id: @c[probe, tid].  Probes are named by
    wildcard: with -p, bpftrace 0.27 attaches a probe named by path twice."""
    prog = "\n".join('%s /str(arg0) == "%s"/ { @c["%s", tid] = count(); }'
                     % (probe(p, "*"), function, p) for p in probes)
    return Bpftrace(prog, pid=pid).start()


def trace_serve_by_pid(prog, n):
    """bpftrace -p on a Driven program in serve()'s loop that has loaded
    pyusdt, while it runs "work N" and then "quit": ((work() calls,
    work() returns, serve() returns), the reply to "work N", the exit
    status, stderr)."""
    bt = Bpftrace('usdt:*:pyusdt:PY_START /str(arg0) == "work"/ '
                  '{ @calls = count(); }\n'
                  'usdt:*:pyusdt:PY_RETURN { @ret[str(arg0)] = count(); }',
                  pid=prog.pid)
    bt.start()
    time.sleep(0.3)
    reply = prog.ask("work %d" % n)
    status, stderr = prog.finish("quit")
    maps = parse_maps(bt.wait(timeout=60))
    return ((maps.get("calls", {}).get((), 0),
             maps.get("ret", {}).get(("work",), 0),
             maps.get("ret", {}).get(("serve",), 0)), reply, status, stderr)


def per_probe(maps):
    """{probe: hits} summed over threads from @c[probe, tid]."""
    out = {}
    for (p, _tid), n in maps.get("c", {}).items():
        out[p] = out.get(p, 0) + n
    return out


def run_timed(cmd, env=None, timeout=60, **kw):
    """Run cmd: (CompletedProcess or None if it hung, seconds)."""
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env or python_env(),
                              capture_output=True, text=True,
                              timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - t0
    return proc, time.monotonic() - t0


def autoload_venv(root, python, autoload=True, srcdir=None):
    """A virtual environment of python made by hand (a pyvenv.cfg and a
    link: no venv module needed), with, if autoload, the source tree's
    pyusdt-autoload.pth and _pyusdt_autoload.py in its site directory,
    as python3-pyusdt-autoload installs them.  pyusdt itself comes from
    PYTHONPATH.  Returns the environment's python."""
    srcdir = srcdir or os.environ.get("PYUSDT_TEST_SRCDIR", ".")
    real = os.path.realpath(python)
    os.makedirs(os.path.join(root, "bin"))
    with open(os.path.join(root, "pyvenv.cfg"), "w") as f:
        f.write("home = %s\ninclude-system-site-packages = false\n"
                % os.path.dirname(real))
    venv_python = os.path.join(root, "bin", "python")
    os.symlink(real, venv_python)
    site_dir = subprocess.run(
        [venv_python, "-c",
         "import site; print(site.getsitepackages()[0])"],
        capture_output=True, text=True, check=True).stdout.strip()
    os.makedirs(site_dir)
    if autoload:
        for f in ("pyusdt-autoload.pth", "_pyusdt_autoload.py"):
            shutil.copy(os.path.join(srcdir, "python", f), site_dir)
    return venv_python


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def outcome(proc):
    """(status, stdout, stderr) of a CompletedProcess, "hung" if None."""
    if proc is None:
        return ("hung", "", "")
    return (proc.returncode, proc.stdout, proc.stderr)


def _probe_names():
    """pyusdt.PROBES, asked of a child: the test process itself stays
    free of pyusdt (a system-wide tracer would count it)."""
    out = subprocess.run([PYTHON, "-c", "import pyusdt; "
                          "print(' '.join(pyusdt.PROBES))"],
                         capture_output=True, text=True)
    return tuple(out.stdout.split())


ALL_PROBES = _probe_names()


def counting_program(probes=ALL_PROBES, library=None):
    """A bpftrace program counting hits per (probe, pid, tid, file,
    function) in map @c."""
    return "\n".join(
        '%s { @c["%s", pid, tid, str(arg1), str(arg0)] = count(); }'
        % (probe(p, library), p) for p in probes)


def counts_for(maps, pid, filename):
    """{(probe, function): hits} for one process and file, summed over
    threads, from a counting_program's output."""
    out = {}
    for key, value in maps.get("c", {}).items():
        p, kpid, _tid, kfile, func = key
        if int(kpid) == pid and kfile == filename:
            out[(p, func)] = out.get((p, func), 0) + value
    return out


def per_thread(maps, pid, filename):
    """{tid: {probe: hits}} for one process and file."""
    out = {}
    for key, value in maps.get("c", {}).items():
        p, kpid, tid, kfile, _func = key
        if int(kpid) == pid and kfile == filename:
            d = out.setdefault(int(tid), {})
            d[p] = d.get(p, 0) + value
    return out


def trace_workload(name, probes=ALL_PROBES, args=(), env=None):
    """Run a workload under `python -m pyusdt` with a system-wide tracer
    attached before it starts; (CompletedProcess, maps, pid)."""
    path = workload(name)
    bt = Bpftrace(counting_program(probes))
    bt.start()
    try:
        proc = subprocess.Popen([PYTHON, "-m", "pyusdt", path] + list(args),
                                env=env or python_env(),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        out, err = proc.communicate(timeout=300)
    finally:
        text = bt.stop()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out,
                                         err)
    return result, parse_maps(text), proc.pid

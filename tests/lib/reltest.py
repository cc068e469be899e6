"""Helpers shared by the reliability tests (tests/integration/test-fork.py,
test-exit.py, test-threads.py, test-tools.py, test-hostile.py,
test-names.py, test-security.py)."""

import json
import os
import select
import signal
import subprocess
import time

import pyusdttest
from pyusdttest import PYTHON, Bpftrace, probe, python_env


def workload(name):
    """A workload's path, normalized: in a VPATH build (make distcheck) the
    source directory is reached through "..", which python3 -m pyusdt and
    multiprocessing's spawn remove from the file name the probes carry."""
    return os.path.normpath(pyusdttest.workload(name))


class Driven:
    """A workload driven over stdin/stdout with one JSON reply per line
    (ctl.py's protocol, for any workload that speaks it)."""

    def __init__(self, name, args=(), env=None, via_launcher=True,
                 python=None):
        cmd = [python or PYTHON]
        if via_launcher:
            cmd += ["-m", "pyusdt"]
        cmd += [workload(name)] + list(args)
        self.proc = subprocess.Popen(
            cmd, env=env or python_env(), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            bufsize=1, start_new_session=True)
        self.pid = self.proc.pid

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

    def wait_state(self, key, want, timeout=10.0):
        """Ask "state" until state[key] == want: (ok, last state)."""
        t0 = time.monotonic()
        while True:
            st = self.ask("state")
            if st[key] == want:
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


def library_of_build():
    return os.environ.get("PYUSDT_TEST_LIBRARY", "")

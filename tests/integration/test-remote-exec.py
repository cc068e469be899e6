"""pyusdt --attach PID: a program that never imported pyusdt
(tests/workloads/unprepared.py, waiting in its command loop, a frame
entered before attach) gets pyusdt through sys.remote_exec, is then
traced by PID with exact counts, and runs and ends as it would have:
the same replies, the same exit status, no global added, the script
file gone.  --attach --trace runs bpftrace on it.  Each failure has its
line and status: no such process, another user's process, ptrace_scope,
remote debugging disabled (environment and -X), pyusdt not installed for
the target's Python, a target that runs no Python code (timeout), a
process that is no Python, and Python before 3.14 (the only check on
3.12 and 3.13)."""

import glob
import os
import re
import select
import subprocess
import sys
import time

from pyusdttest import (PYTHON, TAP, Driven, python_env, require_tracing,
                        trace_serve_by_pid)

LAUNCHER = [PYTHON, "-m", "pyusdt"]


def attach(pid, *extra, **kw):
    return subprocess.Popen(LAUNCHER + ["--attach", str(pid)] + list(extra),
                            env=kw.pop("env", python_env()),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def attached(pid, *extra, **kw):
    p = attach(pid, *extra, **kw)
    out, err = p.communicate(timeout=120)
    return p.returncode, out, err


def poke(prog, p, timeout=60):
    """The program waits in a read, and runs the injected script only
    with its next command: send it commands that call no work() until
    --attach (p) reports, on its stdout, or ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        r, _, _ = select.select([p.stdout], [], [], 0.05)
        if r:
            return
        prog.ask("loaded")


def leftovers():
    return set(glob.glob("/tmp/pyusdt-attach-*"))


def target(env=None, python_args=(), user=None):
    # (its first reply: the program runs Python, in its command loop)
    return Driven("unprepared.py", via_launcher=False, env=env,
                  python_args=python_args, user=user, hello="loaded")


def test_attach_and_trace(tap):
    """The whole story, as a user lives it."""
    before = leftovers()
    prog = target()
    prog.ask("work 5")
    p = attach(prog.pid)
    poke(prog, p)
    out, err = p.communicate(timeout=60)
    reply = prog.ask("work 1")
    want = ("pyusdt: loaded (Python %d.%d) in process %d; trace it with "
            "bpftrace -p %d\n" % (sys.version_info[:2] + (prog.pid,
                                                          prog.pid)))
    tap.eq((p.returncode, out, err), (0, want, ""),
           "--attach PID: status 0 and one line once pyusdt is loaded")
    tap.eq((reply, prog.ask("loaded")),
           ({"done": 1, "total": 1},
            {"pyusdt": True, "filter": None,
             "globals": ["Stop", "loaded", "quit_", "run_work", "serve",
                         "sys"]}),
           "the program replies as before; pyusdt is loaded and no global "
           "was added")
    tap.eq(leftovers() - before, set(),
           "the script file handed over is gone")
    counts, _, status, stderr = trace_serve_by_pid(prog, 7)
    tap.eq(counts, (7, 7, 1),
           "bpftrace -p PID after --attach: work() 7 calls, 7 returns; "
           "serve(), entered before attach, returns once")
    tap.eq((status, stderr), (3, ""),
           "the program ends with its own status 3 and nothing on stderr")


def test_attach_trace_option(tap):
    """--attach PID --trace SCRIPT: bpftrace on the program until it
    ends."""
    prog = target()
    prog.ask("work 2")
    out = os.path.join("/tmp", "pyusdt-remote-%d.txt" % os.getpid())
    p = attach(prog.pid, "--trace", os.path.join(
        os.environ.get("PYUSDT_TEST_BUILDDIR", "."), "tests", "scripts",
        "top.bt"), "--trace-output", out)
    poke(prog, p)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with open(out) as f:
                if "Hit Ctrl-C" in f.read():
                    break
        except OSError:
            pass
        time.sleep(0.1)
    time.sleep(0.5)
    prog.ask("work 9")
    status, _ = prog.finish("quit")
    o, e = p.communicate(timeout=120)
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    m = re.search(r"^\s*\d+\s+(\d+)\s+.*  work \(", text, re.M)
    tap.eq((p.returncode, status, m and int(m.group(1))), (0, 3, 9),
           "--attach --trace top.bt: bpftrace until the program ends, "
           "work() 9 calls", o + e + text)


def test_attach_filter(tap):
    """--attach --filter sets the filter in the running program, loaded
    or not yet."""
    prog = target()
    for patterns in ("work", "serve,*/x/*"):
        p = attach(prog.pid, "--filter", patterns)
        poke(prog, p)
        out, err = p.communicate(timeout=60)
        tap.eq((p.returncode, prog.ask("loaded")["filter"]), (0, patterns),
               "--attach --filter %s: the program's filter" % patterns,
               out + err)
    prog.finish("quit")


def test_timeout(tap):
    """A program blocked in a read runs the script only when it runs
    Python again: --attach says so after --attach-timeout; the script
    then loads pyusdt when the program goes on, and removes itself."""
    before = leftovers()
    prog = target()
    status, out, err = attached(prog.pid, "--attach-timeout", "1")
    tap.eq((status, out, err.count("\n")), (12, "", 1),
           "--attach-timeout 1 on a program blocked in a read: status 12, "
           "one line", err)
    tap.ok("ran no Python code in 1 s" in err,
           "... which says the program ran no Python code", err)
    reply = prog.ask("loaded")
    time.sleep(0.2)
    tap.eq((reply["pyusdt"], leftovers() - before), (True, set()),
           "once it runs, the program loads pyusdt and the script file "
           "is gone")
    prog.finish("quit")


def test_failures(tap):
    # no such process: one that just ended
    gone = subprocess.Popen(["true"])
    gone.wait()
    status, out, err = attached(gone.pid)
    tap.eq((status, err), (7, "pyusdt: no process %d\n" % gone.pid),
           "--attach of no process: status 7, one line")
    # a process that is no Python
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        status, out, err = attached(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
    tap.ok(status == 9 and "not a python3 interpreter" in err
           and err.count("\n") == 1,
           "--attach of a process that is no Python: status 9, one line",
           err)
    # another user's program
    prog = target()
    status, out, err = attached(prog.pid, user=65534)
    tap.ok(status == 8 and "belongs to another user" in err and
           err.count("\n") == 1,
           "--attach of root's program as another user: status 8, one line",
           err)
    prog.finish("quit")
    # remote debugging disabled, by the environment and by -X
    for how, prog in (
            ("PYTHON_DISABLE_REMOTE_DEBUG=1",
             target(env=python_env(PYTHON_DISABLE_REMOTE_DEBUG="1"))),
            ("-X disable-remote-debug",
             target(python_args=["-X", "disable-remote-debug"]))):
        status, out, err = attached(prog.pid)
        tap.ok(status == 10 and how.split("=")[0] in err and
               err.count("\n") == 1,
               "--attach, %s: status 10, one line" % how, err)
        tap.eq(prog.ask("loaded")["pyusdt"], False,
               "... and the program is left alone")
        prog.finish("quit")
    # pyusdt not installed for the program's Python (its module path)
    env = {k: v for k, v in python_env().items() if k != "PYTHONPATH"}
    probe = subprocess.run([PYTHON, "-c", "import pyusdt"], env=env,
                           capture_output=True)
    if probe.returncode == 0:
        tap.skip("--attach, pyusdt not installed for the program's Python",
                 "pyusdt is installed system-wide here")
    else:
        prog = target(env=env)
        status, out, err = attached(prog.pid)
        tap.ok(status == 11 and "pyusdt is not installed for" in err and
               err.count("\n") == 1,
               "--attach, pyusdt not installed for the program's Python: "
               "status 11, one line", err)
        prog.finish("quit")
    test_ptrace_scope(tap)


def test_ptrace_scope(tap):
    """kernel.yama.ptrace_scope 1 lets only a parent attach: a user
    attaching to its own program is refused, with the reason; 2 lets
    only root attach, 3 no one."""
    scope = "/proc/sys/kernel/yama/ptrace_scope"
    if os.path.exists(scope):
        with open(scope) as f:
            old = f.read()
        prog = target(user=65534)
        try:
            with open(scope, "w") as f:
                f.write("1")
            status, out, err = attached(prog.pid, user=65534)
        finally:
            with open(scope, "w") as f:
                f.write(old)
        tap.ok(status == 8 and "ptrace_scope is 1" in err,
               "--attach to one's own program under ptrace_scope 1: "
               "status 8", err)
        prog.finish("quit")
        return
    # No Yama in this kernel: nothing refuses the attach, so what is
    # tested is pyusdt's reading of the setting and its refusal.  The
    # setting is a file mounted over /proc/sys/kernel in a mount
    # namespace of --attach's own.
    prog = target(user=65534)
    for value, user, want in (
            ("1", 65534, "kernel.yama.ptrace_scope is 1, only a parent "
             "may attach to its child; attach as root, or set it to 0"),
            ("2", 65534, "kernel.yama.ptrace_scope is 2, only root may "
             "attach"),
            ("3", None, "kernel.yama.ptrace_scope is 3, no process may "
             "attach to another, root included")):
        # (private first: nothing mounted here may reach other
        # namespaces; the root may be no mount point, in a chroot)
        cmd = ("mount --make-rprivate /proc && "
               "mount -t tmpfs none /proc/sys/kernel && mkdir "
               "/proc/sys/kernel/yama && echo %s > "
               "/proc/sys/kernel/yama/ptrace_scope && exec \"$@\"" % value)
        run_as = (["setpriv", "--reuid=65534", "--regid=65534",
                   "--clear-groups"] if user else [])
        p = subprocess.run(
            ["unshare", "-m", "--propagation", "unchanged", "sh", "-c", cmd,
             "sh"] + run_as + LAUNCHER
            + ["--attach", str(prog.pid)], env=python_env(),
            capture_output=True, text=True, timeout=120)
        tap.eq((p.returncode, p.stderr), (8, "pyusdt: not permitted: %s\n"
                                          % want),
               "--attach %s under ptrace_scope %s (a file here: no Yama "
               "in this kernel): status 8, the setting named"
               % ("to one's own program" if user else "as root", value))
    tap.eq(prog.ask("loaded")["pyusdt"], False,
           "... and the program is left alone")
    prog.finish("quit")


def main():
    tap = TAP()
    require_tracing(tap)
    if sys.version_info < (3, 14):
        prog = target()
        status, out, err = attached(prog.pid)
        tap.eq((status, err), (9, (
            "pyusdt: process %d runs Python %d.%d: --attach needs 3.14 or "
            "later (sys.remote_exec); to trace it, start it under pyusdt, "
            "import pyusdt in it, or install python3-pyusdt-autoload and "
            "restart it\n"
            % ((prog.pid,) + sys.version_info[:2]))),
            "--attach of a Python %d.%d program: status 9, one line "
            "saying how to trace it" % sys.version_info[:2])
        tap.eq(prog.ask("loaded")["pyusdt"], False,
               "... and the program is left alone")
        prog.finish("quit")
        tap.done()
        return
    tap.run(test_attach_and_trace)
    tap.run(test_attach_trace_option)
    tap.run(test_attach_filter)
    tap.run(test_timeout)
    tap.run(test_failures)
    tap.done()


main()

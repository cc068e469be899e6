"""Autoload: pyusdt-autoload.pth in a site directory loads pyusdt at the
start of every process of that Python.  The directory here is the
site-packages of a virtual environment made by hand around the Python
under test (a pyvenv.cfg and a link), with the .pth file and
_pyusdt_autoload.py of the source tree in it; pyusdt itself comes from
PYTHONPATH, as in the other tests.  A program that never imports pyusdt
is then traced by PID with exact counts; PYUSDT_AUTOLOAD=0 opts out; a
bad value warns in one line; a Python without pyusdt starts silently;
what programs print and return does not change, fork included."""

import os
import shutil
import subprocess
import tempfile

from pyusdttest import (PYTHON, TAP, Driven, autoload_venv, python_env,
                        trace_serve_by_pid, tracing_lock, tracing_missing)

ASK = ("import sys; print('pyusdt' in sys.modules, "
       "'_pyusdt_autoload' in sys.modules)")


def run(python, code, env=None, args=()):
    p = subprocess.run([python] + list(args) + ["-c", code],
                       env=env or python_env(), capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_loaded(tap, python):
    tap.eq(run(python, ASK), (0, "True True\n", ""),
           "the .pth file loads pyusdt at start-up, silently")
    tap.eq(run(python, ASK, env=python_env(PYUSDT_AUTOLOAD="1")),
           (0, "True True\n", ""), "PYUSDT_AUTOLOAD=1: loaded")
    tap.eq(run(python, ASK, env=python_env(PYUSDT_AUTOLOAD="0")),
           (0, "False False\n", ""),
           "PYUSDT_AUTOLOAD=0: nothing loaded, not even the autoload module")
    tap.eq(run(python, ASK, env=python_env(PYUSDT_AUTOLOAD="no\n")),
           (0, "True True\n",
            'pyusdt: ignoring PYUSDT_AUTOLOAD="no\\x0a": not 0 or 1; '
            'using 1\n'),
           "a bad PYUSDT_AUTOLOAD: one warning line, loaded")
    tap.eq(run(python, ASK, args=["-S"]), (0, "False False\n", ""),
           "python -S (no site): not loaded")


def test_missing_pyusdt(tap, python):
    """A Python for which pyusdt is not installed starts as before."""
    env = python_env()
    env["PYTHONPATH"] = ""
    tap.eq(run(python, ASK, env=env), (0, "False True\n", ""),
           "pyusdt not installed for this Python: starts silently")
    env["PYUSDT_VERBOSE"] = "1"
    tap.eq(run(python, ASK, env=env),
           (0, "False True\n",
            "pyusdt: not loaded at start-up: No module named 'pyusdt'\n"),
           "the same with PYUSDT_VERBOSE=1: one line says why")


FORK = """\
import os, sys, threading
pid = os.fork()
if pid == 0:
    os._exit(7)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
t = threading.Thread(target=print, args=("thread",))
t.start(); t.join()
sys.exit(5)
"""


def test_unchanged(tap, python, plain):
    """The same program, with and without autoload: same output, status
    and stderr, with warnings as errors (os.fork warns in a process with
    a second thread, and the poller is one)."""
    args = ["-W", "error"]
    got = run(python, FORK, args=args)
    want = run(plain, FORK, args=args)
    tap.eq(got, want, "fork and threads with -W error: as without "
           "autoload (poller stopped around fork)")
    tap.eq(want, (5, "7\nthread\n", ""), "... and that is the expected")
    tasks = 'import os; print(len(os.listdir("/proc/self/task")))'
    tap.eq((run(python, tasks), run(plain, tasks)),
           ((0, "2\n", ""), (0, "1\n", "")),
           "the one thread added is pyusdt's poller")


def test_traced_by_pid(tap, python):
    """A program that never imports pyusdt, started by the autoloading
    Python, traced by PID."""
    why = tracing_missing()
    if why:
        tap.skip("an unprepared program traced by PID", why)
        return
    tracing_lock()
    prog = Driven("unprepared.py", via_launcher=False, python=python,
                  hello="loaded")
    tap.eq(prog.hello["pyusdt"], True,
           "an unprepared program has pyusdt loaded")
    prog.ask("work 3")
    counts, reply, status, stderr = trace_serve_by_pid(prog, 11)
    tap.eq(counts, (11, 11, 1),
           "bpftrace -p PID: work() 11 calls, 11 returns; serve(), entered "
           "before tracing, returns once")
    tap.eq((reply, status, stderr), ({"done": 11, "total": 66}, 3, ""),
           "the program replies, ends with its own status, prints nothing "
           "on stderr")


def main():
    tap = TAP()
    work = tempfile.mkdtemp(prefix="pyusdt-autoload-")
    os.chmod(work, 0o755)
    try:
        python = autoload_venv(os.path.join(work, "auto"), PYTHON)
        plain = autoload_venv(os.path.join(work, "plain"), PYTHON,
                              autoload=False)
        tap.run(test_loaded, python)
        tap.run(test_missing_pyusdt, python)
        tap.run(test_unchanged, python, plain)
        tap.run(test_traced_by_pid, python)
    finally:
        shutil.rmtree(work)
    tap.done()


if __name__ == "__main__":
    main()

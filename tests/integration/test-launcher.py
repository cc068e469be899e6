"""python3 -m pyusdt and the pyusdt command run programs as python3 does
(argv, __main__, sys.path[0], exit status, tracebacks, messages), and bad
input gets one line and a documented status.  Needs no tracer."""

import os
import subprocess
import sys
import tempfile

from pyusdttest import (BUILDDIR, LIBRARY, PYTHON, TAP, python_env,
                        tracing_lock)

SHOW = """\
import sys
print(repr(sys.argv), __name__, sys.path[0], __file__ if '__file__' in dir() else '-', type(__loader__).__name__ if '__loader__' in dir() else '-')
"""


def run(args, cwd=None, env=None):
    return subprocess.run(args, cwd=cwd, env=env or python_env(),
                          capture_output=True, text=True, timeout=60)


def same(tap, name, args, cwd, fix=lambda s: s):
    """pyusdt's run equals python3's, for both ways of starting it."""
    want = run([PYTHON] + args, cwd)
    for how, cmd in (("python3 -m pyusdt", [PYTHON, "-m", "pyusdt"]),
                     ("pyusdt", [os.path.join(BUILDDIR, "pyusdt")])):
        got = run(cmd + args, cwd)
        tap.eq((got.returncode, got.stdout, fix(got.stderr)),
               (want.returncode, want.stdout, fix(want.stderr)),
               "%s: %s as python3" % (how, name))


def main():
    tap = TAP()
    tracing_lock()
    d = tempfile.mkdtemp(prefix="pyusdt-launch.")
    os.mkdir(os.path.join(d, "sub"))
    files = {
        "sub/show.py": SHOW,
        "sub/exit3.py": "import sys\nsys.exit(3)\n",
        "sub/exitmsg.py": "import sys\nsys.exit('bye')\n",
        "sub/boom.py": "def f():\n    raise ValueError('boom')\n\nf()\n",
        "sub/syntax.py": "def f(:\n    pass\n",
        "sub/atexit_out.py": ("import atexit\natexit.register(print, 'late')"
                              "\nprint('early')\n"),
        "mod_show.py": SHOW,
        "pkg/__init__.py": "",
        "pkg/__main__.py": SHOW,
        "nomain/x.py": "",
    }
    for rel, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
        with open(os.path.join(d, rel), "w") as f:
            f.write(text)
    os.symlink(os.path.join(d, "sub", "show.py"), os.path.join(d, "link.py"))

    same(tap, "script: argv, __name__, sys.path[0], __file__, loader",
         ["sub/show.py", "a", "-b", "--c"], d)
    same(tap, "symlinked script: sys.path[0] is the real directory",
         ["link.py"], d)
    same(tap, "sys.exit(3)", ["sub/exit3.py"], d)
    same(tap, "sys.exit('bye')", ["sub/exitmsg.py"], d)
    same(tap, "uncaught exception: traceback and status 1",
         ["sub/boom.py"], d)
    same(tap, "syntax error: message and status 1", ["sub/syntax.py"], d)
    same(tap, "atexit handlers run", ["sub/atexit_out.py"], d)
    same(tap, "-c code with arguments", ["-c", SHOW, "x", "y"], d)
    same(tap, "-m module", ["-m", "mod_show", "arg"], d)
    same(tap, "a package directory with __main__", ["pkg", "q"], d)
    # python3 names itself in these messages; so does pyusdt
    same(tap, "-m of a missing module: message and status 1",
         ["-m", "no_such_module"], d)
    same(tap, "a directory without __main__: message and status 1",
         ["nomain"], d)

    got = run([PYTHON, "-m", "pyusdt", "missing.py"], d)
    tap.eq((got.returncode, got.stdout, got.stderr),
           (2, "", "pyusdt: can't open file '%s': [Errno 2] No such file "
            "or directory\n" % os.path.join(d, "missing.py")),
           "missing script: one line, status 2")
    got = run([PYTHON, "-m", "pyusdt"], d)
    tap.eq((got.returncode, got.stderr),
           (2, "pyusdt: no program given: name a script, -m module or -c "
               "code (see pyusdt --help)\n"),
           "no program: one line, status 2")
    got = run([PYTHON, "-m", "pyusdt", "--bogus", "x.py"], d)
    tap.eq((got.returncode, got.stderr),
           (2, "pyusdt: unknown option --bogus (see pyusdt --help)\n"),
           "unknown option: one line, status 2")
    got = run([PYTHON, "-m", "pyusdt", "-m"], d)
    tap.eq((got.returncode, got.stderr),
           (2, "pyusdt: argument expected for the -m option (see pyusdt "
               "--help)\n"), "-m without a module: one line, status 2")
    for args, msg in (
            (["--attach", "12x"], "--attach needs a process id, not '12x'"),
            (["--attach", "0"], "--attach needs a process id, not '0'"),
            (["--attach", "1", "x.py"],
             "--attach takes a process id, not a program"),
            (["--attach", "1", "--attach-timeout", "0"],
             "--attach-timeout needs seconds from 0 to 3600, not '0'"),
            (["--attach-timeout", "5", "x.py"],
             "--attach-timeout needs --attach")):
        got = run([PYTHON, "-m", "pyusdt"] + args, d)
        tap.eq((got.returncode, got.stderr),
               (2, "pyusdt: %s (see pyusdt --help)\n" % msg),
               "%s: one line, status 2" % " ".join(args))
    got = run([PYTHON, "-m", "pyusdt", "--probes"], d)
    tap.eq((got.returncode, got.stdout.split()),
           (0, ["PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD", "CALL",
                "LINE", "PY_UNWIND", "PY_THROW", "RAISE"]),
           "--probes lists the probes")
    got = run([PYTHON, "-m", "pyusdt", "--library"], d)
    tap.eq(os.path.realpath(got.stdout.strip()), os.path.realpath(LIBRARY),
           "--library prints the probe library's path")
    got = run([PYTHON, "-m", "pyusdt", "--version"], d)
    tap.ok(got.returncode == 0 and got.stdout.startswith("pyusdt "),
           "--version", got)

    # bad PYUSDT_CHECK_MSEC: one warning line, default used, program runs
    for value in ["", "abc", "0", "-5", "10001", "99999999999999999999",
                  " 50", "1\n2"]:
        got = run([PYTHON, "-m", "pyusdt", "-c",
                   "import pyusdt; print(pyusdt.state()['check_msec'])"],
                  d, env=python_env(PYUSDT_CHECK_MSEC=value))
        shown = value.replace("\n", "\\x0a")
        if len(shown) > 40:
            shown = shown[:40] + "..."
        tap.eq((got.returncode, got.stdout, got.stderr),
               (0, "100\n", 'pyusdt: ignoring PYUSDT_CHECK_MSEC="%s": not a '
                'whole number of milliseconds from 1 to 10000; using 100\n'
                % shown), "PYUSDT_CHECK_MSEC=%r: one warning, default 100"
               % value)
    for value, want in (("1", "1"), ("10000", "10000"), ("250", "250")):
        got = run([PYTHON, "-c",
                   "import pyusdt; print(pyusdt.state()['check_msec'])"],
                  d, env=python_env(PYUSDT_CHECK_MSEC=value))
        tap.eq((got.stdout, got.stderr), (want + "\n", ""),
               "PYUSDT_CHECK_MSEC=%s is taken silently" % value)
    got = run([PYTHON, "-c", "import pyusdt"], d,
              env=python_env(PYUSDT_VERBOSE="yes"))
    tap.eq(got.stderr, 'pyusdt: ignoring PYUSDT_VERBOSE="yes": not 0 or 1; '
           'using 0\n', "PYUSDT_VERBOSE=yes: one warning")
    code = "import pyusdt; print(pyusdt.state()['stack_threads'])"
    # where there are stacks: "tls" found here, "list" when asked for
    stacks = sys.version_info >= (3, 13)
    for value, want, warn in (
            ("0", "list", ""), ("1", "tls", ""),
            ("2", "tls", 'pyusdt: ignoring PYUSDT_STACK_TLS="2": not 0 or '
             '1; using 1\n')):
        got = run([PYTHON, "-c", code], d,
                  env=python_env(PYUSDT_STACK_TLS=value))
        tap.eq((got.stdout, got.stderr),
               ((want if stacks else "None") + "\n", warn),
               "PYUSDT_STACK_TLS=%s: stack_threads %s%s" % (
                   value, want if stacks else "None",
                   ", one warning" if warn else ""))

    # an interpreter older than 3.12 gets one clear ImportError
    got = run([PYTHON, "-c", "import sys; sys.version_info = (3, 11, 2); "
               "import pyusdt"], d)
    tap.eq((got.returncode, got.stderr.strip().splitlines()[-1]),
           (1, "ImportError: pyusdt needs Python 3.12 or later (it uses "
               "sys.monitoring); this is Python 3.11"),
           "Python 3.11: ImportError naming what is needed")
    # sub-interpreters: a clean ImportError, no crash
    code = ("import _interpreters as i\n"
            "n = i.create()\n"
            "r = i.exec(n, 'import pyusdt._pyusdt')\n"
            "print(r.type.__name__ if r else None, r.msg if r else '')\n")
    got = run([PYTHON, "-c", code], d)
    if got.returncode != 0 and "_interpreters" in got.stderr:
        code = code.replace("_interpreters", "_xxsubinterpreters")
        got = run([PYTHON, "-c", code], d)
    tap.ok(got.returncode == 0 and got.stdout.startswith("ImportError")
           and "subinterpreters" in got.stdout,
           "sub-interpreter import: ImportError, no crash", got)
    tap.done()


main()

"""The pyusdt command: run a program the way python3 would, with pyusdt.

    pyusdt [options] script.py [args...]
    pyusdt [options] -m module [args...]
    pyusdt [options] -c code [args...]

The program gets the sys.argv, sys.path[0], __main__ module, exit status and
tracebacks it would get under python3 itself.  See pyusdt(1).
"""

import atexit
import sys

import pyusdt
from pyusdt import _pyusdt
from pyusdt.errors import UsageError, fail as _fail
from pyusdt import runner
from pyusdt.runner import run_code, run_module, run_script
from pyusdt.trace import TraceError, Tracer, parse_trace

USAGE = """\
usage: pyusdt [-h] [-V] [--library] [--probes] [--state]
              [--trace SCRIPT [--trace-arg ARG]... [--trace-output FILE]]
              (script [args...] | -m module [args...] | -c code [args...])"""

HELP = USAGE + """

Run a Python program with pyusdt's USDT probes: while a tracer is attached
to them, Python functions, lines, calls, returns and yields fire probes of
provider "pyusdt" in the probe library (see pyusdt(7)).

options:
  -h, --help     show this help and exit
  -V, --version  print pyusdt's version and exit
  --library      print the path of the probe library and exit
  --probes       list the probes and exit
  --state        print what is attached and enabled in this process and exit
  -m module      run a library module as a script, like python3 -m
  -c code        run code given as a string, like python3 -c

tracing (as root, with bpftrace; works with every bpftrace version):
  --trace SCRIPT       trace the program with a bpftrace script from its
                       first line: SCRIPT is a file, or the name of one in
                       /usr/share/pyusdt (top, flow, ...); pyusdt starts
                       bpftrace -p on its own process, runs the program
                       once the probes are attached, then ends bpftrace
                       (Ctrl-C) and waits for its report
  --trace-arg ARG      an argument of the script ($1, $2, ...), repeatable
  --trace-output FILE  write bpftrace's output to FILE (bpftrace -o)

environment:
  PYUSDT_CHECK_MSEC  how often the probes are polled, 1..10000 ms (100)
  PYUSDT_VERBOSE     1: report events switched on and off on stderr (0)
  PYUSDT_SCRIPT_DIR  where --trace looks for a SCRIPT given by name first
  BPFTRACE           the bpftrace that --trace runs (bpftrace on PATH)

exit status: the program's, as under python3; 2 for bad usage.  With
--trace, before the program runs: 3 not root, 4 no bpftrace, 5 SCRIPT not
found or not for this pyusdt's probe library, 6 bpftrace failed to attach.
"""


def _info(opt):
    if opt in ("-V", "--version"):
        print("pyusdt %s" % pyusdt.__version__)
    elif opt == "--library":
        print(pyusdt.LIBRARY)
    elif opt == "--probes":
        for name in pyusdt.PROBES:
            print(name)
    elif opt == "--state":
        for key, value in sorted(pyusdt.refresh().items()):
            if isinstance(value, tuple):
                value = ",".join(value) or "-"
            print("%-10s %s" % (key, value))


def parse(argv):
    """(mode, target, args) or (info option, None, None)."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            return ("help", None, None)
        if a in ("-V", "--version", "--library", "--probes", "--state"):
            return (a, None, None)
        if a in ("-m", "-c"):
            if i + 1 >= len(argv):
                raise UsageError("argument expected for the %s option" % a)
            return (a, argv[i + 1], argv[i + 2:])
        if a.startswith("-m") or a.startswith("-c"):
            return (a[:2], a[2:], argv[i + 1:])
        if a == "--":
            i += 1
            break
        if a.startswith("-") and a != "-":
            raise UsageError("unknown option %s" % a)
        break
    if i >= len(argv):
        raise UsageError("no program given: name a script, -m module or "
                         "-c code")
    return ("script", argv[i], argv[i + 1:])


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    try:
        trace, argv = parse_trace(argv)
    except UsageError as e:
        return _fail("%s (see pyusdt --help)" % e, 2)
    if trace is not None:
        return _main_traced(trace, argv)
    return _main(argv)


def _main_traced(trace, argv):
    """main() with --trace: the program runs in this process, traced by
    bpftrace from its first line (see Tracer)."""
    try:
        mode, target, args = parse(argv)
    except UsageError as e:
        return _fail("%s (see pyusdt --help)" % e, 2)
    if target is None:
        return _main(argv)
    tracer = Tracer(*trace)
    try:
        tracer.check()
    except TraceError as e:
        return _fail(str(e), e.status)

    def start():
        tracer.start()
        # atexit runs the handlers registered last first: the program's
        # own, then _finish (pyusdt off for good: the stop is not traced),
        # then the stop.  Python joins the program's threads before.
        atexit.register(tracer.stop_at_exit)
        atexit.register(_pyusdt._finish)

    runner.before_run = start
    try:
        return _main(argv)
    except TraceError as e:
        return _fail(str(e), e.status)
    finally:
        runner.before_run = None


def _main(argv):
    try:
        mode, target, args = parse(argv)
    except UsageError as e:
        return _fail("%s (see pyusdt --help)" % e, 2)
    if mode == "help":
        print(HELP, end="")
        return 0
    if target is None:
        _info(mode)
        return 0
    if mode == "-m":
        return run_module(target, args)
    if mode == "-c":
        return run_code(target, args)
    if target == "-":
        return run_code(sys.stdin.read(), args, "-", "<stdin>")
    return run_script(target, args)

"""The pyusdt command: run a program the way python3 would, with pyusdt.

    pyusdt [options] script.py [args...]
    pyusdt [options] -m module [args...]
    pyusdt [options] -c code [args...]

The program gets the sys.argv, sys.path[0], __main__ module, exit status and
tracebacks it would get under python3 itself.  See pyusdt(1).
"""

import atexit
import re
import sys

import pyusdt
from pyusdt import _pyusdt
from pyusdt.errors import UsageError, fail as _fail
from pyusdt import attach, perfevents, runner
from pyusdt.runner import run_code, run_module, run_script
from pyusdt.trace import TraceError, Tracer

USAGE = """\
usage: pyusdt [-h] [-V] [--library] [--probes] [--perf-events] [--state]
              [--filter PATTERNS]
              [--trace SCRIPT [--trace-arg ARG]... [--trace-output FILE]]
              (script [args...] | -m module [args...] | -c code [args...])
       pyusdt --attach PID [--attach-timeout SECONDS] [--filter PATTERNS]
              [--trace SCRIPT [--trace-arg ARG]... [--trace-output FILE]]"""

HELP = USAGE + """

Run a Python program with pyusdt's USDT probes: while a tracer is attached
to them, Python functions, lines, calls, returns and yields fire probes of
provider "pyusdt" in the probe library (see pyusdt(7)).

options:
  -h, --help     show this help and exit
  -V, --version  print pyusdt's version and exit
  --library      print the path of the probe library and exit
  --probes       list the probes and exit
  --perf-events  print the probes as uprobe events for perf, with their
                 arguments named and strings as text, and exit (see
                 pyusdt(7), "perf")
  --state        print what is attached and enabled in this process and exit
  --filter PATTERNS
                 fire probes only for the functions or files that match:
                 comma-separated fnmatch patterns, of a name or qualified
                 name ("work", "Engine.*") or, with a "/", of a file
                 ("*/myapp/*"); other code costs nothing once seen
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

attaching (Python 3.14+, as root or the program's user):
  --attach PID         load pyusdt into the running Python program PID,
                       through sys.remote_exec; with --trace, then run
                       bpftrace -p PID on SCRIPT until Ctrl-C
  --attach-timeout SECONDS
                       how long to wait for the program to run Python
                       code and load pyusdt (10)

environment:
  PYUSDT_CHECK_MSEC  how often the probes are polled, 1..10000 ms (100)
  PYUSDT_VERBOSE     1: report events switched on and off on stderr (0)
  PYUSDT_SCRIPT_DIR  where --trace looks for a SCRIPT given by name first
  PYUSDT_FILTER      the filter of --filter, read when pyusdt is imported
  BPFTRACE           the bpftrace that --trace runs (bpftrace on PATH)

exit status: the program's, as under python3; 2 for bad usage.  With
--trace, before the program runs: 3 not root, 4 no bpftrace, 5 SCRIPT not
found or not for this pyusdt's probe library, 6 bpftrace failed to attach.
With --attach: 0 loaded (or bpftrace's status with --trace), 7 no such
process, 8 not permitted, 9 not Python 3.14+, 10 remote debugging
disabled, 11 pyusdt not installed for its Python, 12 timed out.
"""


def _info(opt):
    if opt in ("-V", "--version"):
        print("pyusdt %s" % pyusdt.__version__)
    elif opt == "--library":
        print(pyusdt.LIBRARY)
    elif opt == "--probes":
        for name in pyusdt.PROBES:
            print(name)
    elif opt == "--perf-events":
        try:
            lines = perfevents.definitions()
        except (OSError, perfevents.PerfEventError) as e:
            return _fail("--perf-events: %s" % e, 1)
        for line in lines:
            print(line)
    elif opt == "--state":
        for key, value in sorted(pyusdt.refresh().items()):
            if isinstance(value, tuple):
                value = ",".join(value) or "-"
            print("%-10s %s" % (key, value))


class Command:
    """What the command line asks for: an information option (info), or
    a program (mode "script", "-m" or "-c", target, args), traced when
    trace is (script, [script args], output file)."""

    def __init__(self):
        self.info = None
        self.trace = None
        self.mode = self.target = None
        self.args = []
        self.attach = None
        self.attach_timeout = None
        self.filter = None


TRACE_OPTIONS = ("--trace", "--trace-arg", "--trace-output", "--attach",
                 "--attach-timeout", "--filter")
INFO_OPTIONS = ("-V", "--version", "--library", "--probes",
                "--perf-events", "--state")


def parse(argv):
    """The Command of argv, read in one pass: the launcher's options come
    before the program (a script, -m module or -c code); everything after
    the program is its arguments."""
    cmd = Command()
    script, targs, output = None, [], None
    i = 0
    while i < len(argv):
        a = argv[i]
        name, eq, value = a.partition("=")
        if name in TRACE_OPTIONS:
            if not eq:
                if i + 1 >= len(argv):
                    raise UsageError("argument expected for the %s option"
                                     % name)
                i += 1
                value = argv[i]
            if name == "--trace":
                script = value
            elif name == "--attach":
                if not re.fullmatch(r"[1-9][0-9]{0,9}", value):
                    raise UsageError("--attach needs a process id, not %r"
                                     % value)
                cmd.attach = int(value)
            elif name == "--filter":
                cmd.filter = value
            elif name == "--attach-timeout":
                try:
                    cmd.attach_timeout = float(value)
                except ValueError:
                    cmd.attach_timeout = -1.0
                if not 0 < cmd.attach_timeout <= 3600:
                    raise UsageError("--attach-timeout needs seconds from "
                                     "0 to 3600, not %r" % value)
            elif name == "--trace-arg":
                targs.append(value)
            else:
                output = value
            i += 1
            continue
        if a in ("-h", "--help") or a in INFO_OPTIONS:
            cmd.info = "help" if a in ("-h", "--help") else a
            break
        if a in ("-m", "-c"):
            if i + 1 >= len(argv):
                raise UsageError("argument expected for the %s option" % a)
            cmd.mode, cmd.target, cmd.args = a, argv[i + 1], argv[i + 2:]
            break
        if a.startswith("-m") or a.startswith("-c"):
            cmd.mode, cmd.target, cmd.args = a[:2], a[2:], argv[i + 1:]
            break
        if a == "--":
            i += 1
        elif a.startswith("-") and a != "-":
            raise UsageError("unknown option %s" % a)
        if i >= len(argv):
            break
        cmd.mode, cmd.target, cmd.args = "script", argv[i], argv[i + 1:]
        break
    if script is not None:
        cmd.trace = (script, targs, output)
    elif targs or output is not None:
        raise UsageError("--trace-arg and --trace-output need --trace")
    if cmd.attach is not None and cmd.target is not None:
        raise UsageError("--attach takes a process id, not a program")
    if cmd.attach_timeout is not None and cmd.attach is None:
        raise UsageError("--attach-timeout needs --attach")
    if cmd.info is None and cmd.target is None and cmd.attach is None:
        raise UsageError("no program given: name a script, -m module or "
                         "-c code")
    return cmd


def main(argv=None):
    try:
        cmd = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as e:
        return _fail("%s (see pyusdt --help)" % e, 2)
    if cmd.info == "help":
        print(HELP, end="")
        return 0
    if cmd.info is not None:
        return _info(cmd.info) or 0
    if cmd.attach is not None:
        return attach.main(cmd.attach, cmd.attach_timeout or
                           attach.ATTACH_TIMEOUT_DEFAULT, cmd.trace,
                           cmd.filter)
    if cmd.filter is not None:
        pyusdt.set_filter(cmd.filter)
    if cmd.trace is not None:
        return _main_traced(cmd)
    return _run(cmd)


def _main_traced(cmd):
    """The program of cmd, in this process, traced by bpftrace from its
    first line (see Tracer)."""
    tracer = Tracer(*cmd.trace)
    try:
        tracer.check()
    except TraceError as e:
        return _fail(str(e), e.status)
    if cmd.filter is None and tracer.filter is not None:
        # the script's own: the code it does not look at costs nothing
        pyusdt.set_filter(tracer.filter)

    def start():
        tracer.start()
        # atexit runs the handlers registered last first: the program's
        # own, then _finish (pyusdt off for good: the stop is not traced),
        # then the stop.  Python joins the program's threads before.
        atexit.register(tracer.stop_at_exit)
        atexit.register(_pyusdt._finish)

    runner.before_run = start
    try:
        return _run(cmd)
    except TraceError as e:
        return _fail(str(e), e.status)
    finally:
        runner.before_run = None


def _run(cmd):
    if cmd.mode == "-m":
        return run_module(cmd.target, cmd.args)
    if cmd.mode == "-c":
        return run_code(cmd.target, cmd.args)
    if cmd.target == "-":
        return run_code(sys.stdin.read(), cmd.args, "-", "<stdin>")
    return run_script(cmd.target, cmd.args)

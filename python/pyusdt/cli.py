"""The pyusdt command: run a program the way python3 would, with pyusdt.

    pyusdt [options] script.py [args...]
    pyusdt [options] -m module [args...]
    pyusdt [options] -c code [args...]

The program gets the sys.argv, sys.path[0], __main__ module, exit status and
tracebacks it would get under python3 itself.  See pyusdt(1).
"""

import atexit
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
import types

import pyusdt
from pyusdt import _pyusdt

PROG = "pyusdt"

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


class UsageError(Exception):
    pass


def _fail(message, status):
    print("%s: %s" % (PROG, message), file=sys.stderr)
    return status


def _fresh_main(filename=None, loader=None):
    """A new, empty __main__ module, as the interpreter makes for a script."""
    main = types.ModuleType("__main__")
    main.__builtins__ = __builtins__
    main.__spec__ = None
    if filename is not None:
        main.__file__ = filename
    if loader is not None:
        main.__loader__ = loader
    sys.modules["__main__"] = main
    return main


def _user_traceback(tb):
    """Skip this module's own frames, so tracebacks read as under python3."""
    while tb is not None and tb.tb_frame.f_globals is globals():
        tb = tb.tb_next
    return tb


# Called right before the program's code runs (see --trace); None: nothing.
_before_run = None


# The files of the launcher: this package, runpy, and the pyusdt command
# (sys.argv[0] while this module is imported, before the program's argv).
_LAUNCHER_DIR = os.path.dirname(os.path.abspath(__file__))
_LAUNCHER_FILES = {os.path.abspath(sys.argv[0])} if sys.argv[0] else set()


def _launcher_frame(frame):
    name = frame.f_code.co_filename
    return (name.startswith("<frozen runpy")
            or os.path.dirname(os.path.abspath(name)) == _LAUNCHER_DIR
            or os.path.abspath(name) in _LAUNCHER_FILES
            or os.path.basename(name) == "runpy.py")


def _hide_launcher_frames_once():
    """Make the next sys.excepthook call leave out the launcher's frames
    at the head of the traceback, then put the hook back."""
    hook = sys.excepthook

    def launcher_hook(typ, value, tb):
        sys.excepthook = hook
        while tb is not None and _launcher_frame(tb.tb_frame):
            tb = tb.tb_next
        hook(typ, value.with_traceback(tb), tb)

    sys.excepthook = launcher_hook


def _exec(code, main):
    """Run code in main; an uncaught exception ends the process as it would
    under python3 (traceback, status 1), SystemExit passes through."""
    if _before_run is not None:
        _before_run()
    try:
        exec(code, main.__dict__)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        # python3 exits through SIGINT after finalizing: re-raising does
        # that; the traceback printed on the way must not show the launcher
        _hide_launcher_frames_once()
        raise
    except BaseException as e:
        # the hook prints e.__traceback__ (3.12+), not only its argument
        tb = _user_traceback(e.__traceback__)
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        return 1
    return 0


def _compile(source, filename):
    try:
        return compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        # as python3 prints it: no traceback of the compiler's caller
        traceback.print_exception(type(e), e, None)
        return None


def run_script(path, args):
    from pkgutil import get_importer

    sys.argv[:] = [path] + args
    importer = get_importer(path) if os.path.exists(path) else None
    if importer is not None:
        # a directory or zip file with a __main__ module
        sys.path[0] = (path if os.path.isabs(path)
                       else os.path.join(os.getcwd(), path))
        return run_module("__main__", [], keep_argv=True)
    # python3 names the script by its absolute path (neither resolving
    # links nor collapsing "..")
    # and puts the real directory, links resolved, first on sys.path
    filename = path if os.path.isabs(path) else os.path.join(os.getcwd(),
                                                             path)
    try:
        with io.open_code(filename) as f:
            source = f.read()
    except OSError as e:
        return _fail("can't open file %r: [Errno %d] %s"
                     % (filename, e.errno, e.strerror), 2)
    sys.path[0] = os.path.dirname(os.path.realpath(path))
    from importlib.machinery import SourceFileLoader
    main = _fresh_main(filename, SourceFileLoader("__main__", filename))
    code = _compile(source, filename)
    if code is None:
        return 1
    return _exec(code, main)


def run_code(code_text, args, argv0="-c", filename="<string>"):
    sys.argv[:] = [argv0] + args
    sys.path[0] = ""
    main = _fresh_main()
    from importlib.machinery import BuiltinImporter
    main.__loader__ = BuiltinImporter
    code = _compile(code_text, filename)
    if code is None:
        return 1
    return _exec(code, main)


def run_module(name, args, keep_argv=False):
    import runpy

    if not keep_argv:
        # runpy replaces argv[0] with the module's file
        sys.argv[:] = ["-m"] + args
        sys.path[0] = os.getcwd()
    _fresh_main()
    if _before_run is not None:
        _before_run()
    # the interpreter's own -m: same messages, same exit status
    runpy._run_module_as_main(name, alter_argv=not keep_argv)
    return 0


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


def parse_trace(argv):
    """Take the --trace options off the front of argv (before the program):
    ((script, [args], output) or None, the other arguments)."""
    script, targs, output = None, [], None
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        name, eq, value = a.partition("=")
        if name in ("--trace", "--trace-arg", "--trace-output"):
            if not eq:
                if i + 1 >= len(argv):
                    raise UsageError("argument expected for the %s option"
                                     % name)
                i += 1
                value = argv[i]
            if name == "--trace":
                script = value
            elif name == "--trace-arg":
                targs.append(value)
            else:
                output = value
            i += 1
            continue
        if a in ("-m", "-c", "--", "-") or a.startswith("-m") \
                or a.startswith("-c") or not a.startswith("-"):
            rest.extend(argv[i:])
            break
        rest.append(a)
        i += 1
    if script is None:
        if targs or output is not None:
            raise UsageError("--trace-arg and --trace-output need --trace")
        return None, rest
    return (script, targs, output), rest


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
    """The path of the script NAME (a path, or top, top.bt, ...), or None."""
    if os.path.isfile(name):
        return name
    if os.sep in name:
        return None
    for d in _script_dirs():
        for candidate in (name, name + ".bt"):
            path = os.path.join(d, candidate)
            if os.path.isfile(path):
                return path
    return None


_PROBE_SPEC_PATH = re.compile(r"usdt:[^:\s]*:pyusdt:")


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
                specs = _PROBE_SPEC.findall(f.read())
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

    def stop_at_exit(self):
        """stop(), from atexit: after the program's own exit handlers and
        its threads, which are traced to their end."""
        status = self.stop()
        if status:
            _fail("bpftrace ended with status %d" % status, 0)


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
    global _before_run
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
        global _before_run
        _before_run = None
        tracer.start()
        # atexit runs the handlers registered last first: the program's
        # own, then _finish (pyusdt off for good: the stop is not traced),
        # then the stop.  Python joins the program's threads before.
        atexit.register(tracer.stop_at_exit)
        atexit.register(_pyusdt._finish)

    _before_run = start
    try:
        return _main(argv)
    except TraceError as e:
        return _fail(str(e), e.status)
    finally:
        _before_run = None


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

"""The pyusdt command: run a program the way python3 would, with pyusdt.

    pyusdt [options] script.py [args...]
    pyusdt [options] -m module [args...]
    pyusdt [options] -c code [args...]

The program gets the sys.argv, sys.path[0], __main__ module, exit status and
tracebacks it would get under python3 itself.  See pyusdt(1).
"""

import io
import os
import sys
import traceback
import types

import pyusdt

PROG = "pyusdt"

USAGE = """\
usage: pyusdt [-h] [-V] [--library] [--probes] [--state]
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

environment:
  PYUSDT_CHECK_MSEC  how often the probes are polled, 1..10000 ms (100)
  PYUSDT_VERBOSE     1: report events switched on and off on stderr (0)
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


def _exec(code, main):
    """Run code in main; an uncaught exception ends the process as it would
    under python3 (traceback, status 1), SystemExit passes through."""
    try:
        exec(code, main.__dict__)
    except SystemExit:
        raise
    except KeyboardInterrupt as e:
        # python3 exits through SIGINT after finalizing: re-raising does that
        raise e.with_traceback(_user_traceback(e.__traceback__))
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
        sys.path[0] = os.path.abspath(path)
        return run_module("__main__", [], keep_argv=True)
    # python3 names the script by its absolute path (not resolving links)
    # and puts the real directory, links resolved, first on sys.path
    filename = os.path.abspath(path)
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


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
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

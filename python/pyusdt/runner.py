"""Run a program the way python3 would: a fresh __main__, the script's
directory first on sys.path, its exit status and a traceback without
pyusdt's own frames."""

import io
import os
import sys
import traceback
import types

from pyusdt.errors import fail as _fail


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


# Called once, right before the program's code runs (the launcher's
# --trace starts bpftrace there); None: nothing.
before_run = None


def _run_before():
    global before_run
    hook, before_run = before_run, None
    if hook is not None:
        hook()


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
    _run_before()
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
    _run_before()
    # the interpreter's own -m: same messages, same exit status
    runpy._run_module_as_main(name, alter_argv=not keep_argv)
    return 0

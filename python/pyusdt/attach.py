"""pyusdt --attach PID: load pyusdt into a running Python program that
never imported it, through sys.remote_exec (PEP 768, Python 3.14+).

The target's own interpreter does the work (remote_exec needs the same
major.minor version), so this runs under any python3.  What it hands
over is a script file in a fresh directory of the target's /tmp (seen
through /proc/PID/root, so a private /tmp works too), readable by the
target's user only; the script removes itself and its directory before
it imports pyusdt, and runs in a namespace of its own: the program's
globals are untouched.  pyusdt then stays loaded, idle (no callback, no
event) while nothing is attached to its probes.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

import pyusdt
from pyusdt.errors import fail as _fail

ATTACH_NO_PROCESS = 7
ATTACH_NOT_PERMITTED = 8
ATTACH_NOT_SUPPORTED = 9
ATTACH_DISABLED = 10
ATTACH_NO_PYUSDT = 11
ATTACH_TIMEOUT = 12
ATTACH_TIMEOUT_DEFAULT = 10.0

HOW_ELSE = ("start it under pyusdt, import pyusdt in it, or install "
            "python3-pyusdt-autoload and restart it")

# run by the target's interpreter: what it is and what it has
_PROBE = """\
import importlib.util, sys
print(sys.version_info[0], sys.version_info[1],
      int(importlib.util.find_spec("pyusdt") is not None),
      int(getattr(sys, "is_remote_debug_enabled", lambda: False)()))
"""

# what the target runs: no name is bound in it
_LOAD = """\
try:
    __import__("os").unlink(%r)
    __import__("os").rmdir(%r)
except OSError:
    pass
__import__("pyusdt")
"""
_SET_FILTER = """\
__import__("pyusdt").set_filter(%r)
"""

# the variables of the target's environment that decide where its
# interpreter finds modules
_PATH_VARS = (b"PYTHONPATH", b"PYTHONHOME", b"PYTHONNOUSERSITE",
              b"PYTHONUSERBASE", b"HOME", b"PATH")


class AttachError(Exception):
    def __init__(self, message, status):
        Exception.__init__(self, message)
        self.status = status


def _proc(pid, name):
    """The bytes of /proc/PID/NAME; AttachError when the process is gone
    or not ours to read."""
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise AttachError("no process %d" % pid, ATTACH_NO_PROCESS)
    except PermissionError:
        raise AttachError(_not_permitted(pid), ATTACH_NOT_PERMITTED)


def _owner(pid):
    try:
        st = os.stat("/proc/%d" % pid)
    except FileNotFoundError:
        raise AttachError("no process %d" % pid, ATTACH_NO_PROCESS)
    return st.st_uid, st.st_gid


def _ptrace_scope():
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def _refusal(pid):
    """Why the kernel will not let this user attach to pid, in words, or
    None when nothing forbids it that can be told beforehand."""
    uid, _ = _owner(pid)
    scope = _ptrace_scope()
    if scope == 3:
        return ("not permitted: kernel.yama.ptrace_scope is 3, no process "
                "may attach to another, root included")
    if os.geteuid() == 0:
        return None
    if uid != os.geteuid():
        return ("not permitted: process %d belongs to another user (uid "
                "%d); attach as root" % (pid, uid))
    if scope == 1:
        return ("not permitted: kernel.yama.ptrace_scope is 1, only a "
                "parent may attach to its child; attach as root, or set "
                "it to 0")
    if scope == 2:
        return ("not permitted: kernel.yama.ptrace_scope is 2, only root "
                "may attach")
    return None


def _not_permitted(pid):
    """Why an attach to pid was refused, in words."""
    return _refusal(pid) or "not permitted to attach to process %d" % pid


def _check_permitted(pid):
    why = _refusal(pid)
    if why:
        raise AttachError(why, ATTACH_NOT_PERMITTED)


def _environ(pid):
    env = {}
    for item in _proc(pid, "environ").split(b"\0"):
        k, eq, v = item.partition(b"=")
        if eq:
            env[k] = v
    return env


def _loaded(pid):
    """Whether pyusdt's probe library is mapped in pid."""
    return b"/libpyusdt.so" in _proc(pid, "maps")


def _interpreter(pid, env):
    """(path of the target's interpreter, its (major, minor))."""
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
    except FileNotFoundError:
        raise AttachError("no process %d" % pid, ATTACH_NO_PROCESS)
    except PermissionError:
        raise AttachError(_not_permitted(pid), ATTACH_NOT_PERMITTED)
    name = os.path.basename(exe)
    if not re.match(r"python\d", name) or not os.access(exe, os.X_OK):
        raise AttachError("process %d runs %s, not a python3 interpreter"
                          % (pid, exe), ATTACH_NOT_SUPPORTED)
    probe_env = {k.decode(errors="surrogateescape"):
                 v.decode(errors="surrogateescape")
                 for k, v in env.items() if k in _PATH_VARS}
    try:
        out = subprocess.run([exe, "-c", _PROBE], env=probe_env,
                             capture_output=True, text=True, timeout=60)
        major, minor, has_pyusdt, remote = (int(x) for x in
                                            out.stdout.split())
    except (OSError, ValueError, subprocess.TimeoutExpired):
        raise AttachError("process %d runs %s, which did not say its "
                          "version" % (pid, exe), ATTACH_NOT_SUPPORTED)
    version = "%d.%d" % (major, minor)
    if (major, minor) < (3, 14):
        raise AttachError("process %d runs Python %s: --attach needs 3.14 "
                          "or later (sys.remote_exec); to trace it, %s"
                          % (pid, version, HOW_ELSE), ATTACH_NOT_SUPPORTED)
    if not remote:
        raise AttachError("remote debugging is disabled: %s was built "
                          "without it" % exe, ATTACH_DISABLED)
    if not has_pyusdt:
        raise AttachError("pyusdt is not installed for %s (Python %s, "
                          "with process %d's module path)"
                          % (exe, version, pid), ATTACH_NO_PYUSDT)
    return exe, version


def _check_enabled(pid, env):
    if env.get(b"PYTHON_DISABLE_REMOTE_DEBUG"):
        raise AttachError("remote debugging is disabled in process %d "
                          "(PYTHON_DISABLE_REMOTE_DEBUG is set)" % pid,
                          ATTACH_DISABLED)
    args = _proc(pid, "cmdline").split(b"\0")
    for i, a in enumerate(args):
        if a in (b"-c", b"-m") or (i > 0 and not a.startswith(b"-")):
            break       # the program and its arguments
        if a == b"-Xdisable-remote-debug" or (
                a == b"-X" and i + 1 < len(args)
                and args[i + 1] == b"disable-remote-debug"):
            raise AttachError("remote debugging is disabled in process %d "
                              "(-X disable-remote-debug)" % pid,
                              ATTACH_DISABLED)


def _script(pid, patterns):
    """(the script's path as the target sees it, as we see it)."""
    root = "/proc/%d/root" % pid
    uid, gid = _owner(pid)
    for tmp in ("/tmp", "/var/tmp"):
        try:
            d = tempfile.mkdtemp(prefix="pyusdt-attach-", dir=root + tmp)
            break
        except OSError:
            d = None
    if d is None:
        raise AttachError("cannot create a file in process %d's /tmp"
                          % pid, ATTACH_NOT_PERMITTED)
    seen = d[len(root):]
    path = os.path.join(d, "load.py")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "w") as f:
        f.write(_LOAD % (os.path.join(seen, "load.py"), seen))
        if patterns is not None:
            f.write(_SET_FILTER % patterns)
    if os.geteuid() == 0 and uid != 0:
        # the target's user reads it (and removes it): nobody else can
        os.chown(path, uid, gid)
        os.chown(d, uid, gid)
    return os.path.join(seen, "load.py"), path


def _remove(path):
    try:
        os.unlink(path)
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass


def load(pid, timeout=ATTACH_TIMEOUT_DEFAULT, patterns=None):
    """Load pyusdt into process pid (and set its filter to patterns, when
    not None); returns once the program ran the script (it removed it)
    and the probe library is mapped there.  AttachError otherwise."""
    already = _loaded(pid)
    if already and patterns is None:
        return "already loaded"
    _check_permitted(pid)
    env = _environ(pid)
    exe, version = _interpreter(pid, env)
    _check_enabled(pid, env)
    theirs, ours = _script(pid, patterns)
    p = subprocess.run(
        [exe, "-c", "import sys; sys.remote_exec(int(sys.argv[1]), "
         "sys.argv[2])", str(pid), theirs],
        capture_output=True, text=True, timeout=60,
        env={"PATH": os.environ.get("PATH", os.defpath)})
    if p.returncode != 0:
        _remove(ours)
        last = (p.stderr.strip().splitlines() or ["?"])[-1]
        if "PermissionError" in p.stderr or "Operation not permitted" in \
                p.stderr:
            raise AttachError(_not_permitted(pid), ATTACH_NOT_PERMITTED)
        if "not enabled in the remote process" in p.stderr:
            raise AttachError("remote debugging is disabled in process %d"
                              % pid, ATTACH_DISABLED)
        if not os.path.exists("/proc/%d" % pid):
            raise AttachError("no process %d" % pid, ATTACH_NO_PROCESS)
        raise AttachError("sys.remote_exec failed: %s" % last,
                          ATTACH_NOT_SUPPORTED)
    deadline = time.monotonic() + timeout
    while os.path.exists(ours) or not _loaded(pid):
        if time.monotonic() > deadline:
            # the script stays for the target to run (and remove) when it
            # runs Python again
            raise AttachError(
                "process %d ran no Python code in %g s (blocked in a "
                "system call?): pyusdt loads when it does" % (pid, timeout),
                ATTACH_TIMEOUT)
        time.sleep(0.02)
    what = "already loaded" if already else "loaded (Python %s)" % version
    if patterns is not None:
        what += ", filter %r set" % patterns
    return what


def main(pid, timeout, trace=None, patterns=None):
    """pyusdt --attach PID [--filter PATTERNS] [--trace SCRIPT ...]: the
    exit status."""
    tracer = None
    if trace is not None:
        from pyusdt.trace import TraceError, Tracer
        tracer = Tracer(*trace)
        try:
            tracer.check()
        except TraceError as e:
            return _fail(str(e), e.status)
        if patterns is None:
            patterns = tracer.filter
    try:
        what = load(pid, timeout, patterns)
    except AttachError as e:
        return _fail(str(e), e.status)
    print("pyusdt: %s in process %d; trace it with bpftrace -p %d"
          % (what, pid, pid), flush=True)
    if tracer is None:
        return 0
    return tracer.run_on(pid)

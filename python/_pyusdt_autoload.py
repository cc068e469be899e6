"""Load pyusdt at the start of every Python process.

The package python3-pyusdt-autoload (configure --enable-autoload) puts
pyusdt-autoload.pth next to this module, in the interpreter's site
directory.  site runs the .pth file's one line at every start of every
Python that reads that directory: it imports this module, so any program
can then be traced by PID without a change to it.

PYUSDT_AUTOLOAD=0 in a process's environment opts it out; the .pth line
checks it itself, so that a process opted out does not even import this
module.  A start never fails because of this module: a Python that
pyusdt does not support (before 3.12, or one pyusdt was not built for)
starts as it would have, silently; PYUSDT_VERBOSE=1 says why pyusdt was
not loaded.
"""

import os
import sys


def _shown(value):
    # one line, bounded, as pyusdt's other knobs show a bad value
    text = "".join(c if " " <= c != "\x7f" else "\\x%02x" % ord(c)
                   for c in value[:40])
    return text + ("..." if len(value) > 40 else "")


def _load():
    value = os.environ.get("PYUSDT_AUTOLOAD")
    if value == "0":
        return
    if value not in (None, "1"):
        sys.stderr.write('pyusdt: ignoring PYUSDT_AUTOLOAD="%s": not 0 or '
                         '1; using 1\n' % _shown(value))
    if sys.version_info < (3, 12):
        return
    try:
        import pyusdt  # noqa: F401  (loading it is the point)
    except Exception as e:
        if os.environ.get("PYUSDT_VERBOSE") == "1":
            why = str(e).splitlines()[0] if str(e) else type(e).__name__
            sys.stderr.write("pyusdt: not loaded at start-up: %s\n" % why)


_load()

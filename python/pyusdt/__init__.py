"""pyusdt: USDT probes for a running Python program.

Importing pyusdt is all a program needs: while a tracer (bpftrace, perf,
SystemTap, bcc) is attached to one of the probes of provider "pyusdt" in the
probe library, the matching sys.monitoring events are on and fire the probe;
otherwise no callback is registered and the program runs as before.

    state()    what is attached and enabled right now (a dict)
    refresh()  read the probe semaphores now instead of at the next poll
    set_filter(patterns)  fire probes only for the functions or files that
               match (fnmatch patterns, comma-separated; None: all)
    PROBES     the names of the probes
    LIBRARY    the path of the probe library that bpftrace scripts name

See pyusdt(1) and pyusdt(7).
"""

import sys

if sys.version_info < (3, 12):
    raise ImportError(
        "pyusdt needs Python 3.12 or later (it uses sys.monitoring); "
        "this is Python %d.%d" % sys.version_info[:2])

try:
    from pyusdt._pyusdt import (LIBRARY, PROBE_ABI, PROBES, PYTHON_PROBES,
                                __version__, refresh, set_filter, state)
except ModuleNotFoundError as e:
    if e.name != "pyusdt._pyusdt":
        raise
    raise ImportError(
        "pyusdt is not built for Python %d.%d (%s): no module "
        "pyusdt._pyusdt" % (sys.version_info[:2] + (sys.executable,)),
        name="pyusdt._pyusdt") from None

__all__ = ["LIBRARY", "PROBE_ABI", "PROBES", "PYTHON_PROBES", "__version__",
           "refresh", "set_filter", "state"]

"""Calls pyusdt's own callbacks with sys.monitoring.MISSING and other
arguments no code object gives, once the tracer has attached."""
import sys

import pyusdt

mon = sys.monitoring
E = mon.events
M = mon.MISSING
tool = pyusdt.refresh()["tool_id"]


def callback(event):
    cb = mon.register_callback(tool, event, None)
    mon.register_callback(tool, event, cb)
    return cb


callback(E.PY_START)(M, 7)
callback(E.PY_START)()
callback(E.PY_START)("not code", "not an int")
callback(E.CALL)(M, 3, M, M)
callback(E.PY_RETURN)(M, 5, M)
callback(E.LINE)(M, 9)
print("ok")

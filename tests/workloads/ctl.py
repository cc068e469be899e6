"""A long-running program driven over stdin, for attach/detach tests.

Commands (one per line): "state" replies pyusdt's state plus the events
sys.monitoring has for pyusdt's tool; "work N" calls work() N times;
"claim N" claims sys.monitoring tool id N for another tool (the reply
names the error, if any); "quit" exits.  Every reply is one JSON line.
"""
import sys

import pyusdt
from serve import Stop, pyusdt_state, run_work, serve


def claim(n):
    try:
        sys.monitoring.use_tool_id(int(n), "other")
        return {"claimed": int(n)}
    except ValueError as e:
        return {"error": str(e)}


def quit_():
    raise Stop({"bye": True})


serve({"state": lambda: pyusdt_state(pyusdt), "work": run_work,
       "claim": claim, "quit": quit_})

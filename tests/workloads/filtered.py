"""Functions for pyusdt's filter, driven over stdin (serve.py's loop).

"call NAME N" calls target(), other() or Engine.run() N times; "filter
PATTERNS" sets pyusdt's filter ("-" for none) and replies it;
"coverage" replies the lines of this file that the coverage-style tool
saw run.  With argument "coverage", a tool in the manner of coverage.py
watches LINE events (tool id 1): it records each line of this file once
and returns DISABLE, so it sees a line again only after
sys.monitoring.restart_events()."""
import sys

import pyusdt
from serve import Stop, serve

mon = sys.monitoring
seen = set()
calls_seen = []


def on_line(code, line):
    if code.co_filename == __file__:
        seen.add(line)
        calls_seen.append(line)
    return mon.DISABLE


def target(i):
    return i + 1


def other(i):
    return i - 1


class Engine:
    def run(self, i):
        return i * 2


def call(name, n):
    f = {"target": target, "other": other, "run": Engine().run}[name]
    for i in range(int(n)):
        f(i)
    return {"called": name, "n": int(n)}


def set_filter(patterns):
    pyusdt.set_filter(None if patterns == "-" else patterns)
    return {"filter": pyusdt.state()["filter"]}


def coverage():
    return {"lines": sorted(seen), "events": len(calls_seen)}


def quit_():
    raise Stop({"bye": True})


if "coverage" in sys.argv[1:]:
    mon.use_tool_id(1, "coverage-like")
    mon.register_callback(1, mon.events.LINE, on_line)
    mon.set_events(1, mon.events.LINE)
serve({"call": call, "filter": set_filter, "coverage": coverage,
       "state": lambda: {"filter": pyusdt.state()["filter"],
                         "enabled": list(pyusdt.state()["enabled"])},
       "quit": quit_})

"""A long-running program driven over stdin, for attach/detach tests.

Commands (one per line): "state" replies pyusdt's state plus the events
sys.monitoring has for pyusdt's tool; "work N" calls work() N times;
"claim N" claims sys.monitoring tool id N for another tool (the reply
names the error, if any); "quit" exits.  Every reply is one JSON line.
"""
import json
import sys

import pyusdt


def work(i):
    return i + 1


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "state":
        st = pyusdt.state()
        st["attached"] = list(st["attached"])
        st["enabled"] = list(st["enabled"])
        tool = st["tool_id"]
        st["events"] = sys.monitoring.get_events(tool) if tool is not None else 0
        reply(st)
    elif cmd[0] == "work":
        total = 0
        for i in range(int(cmd[1])):
            total += work(i)
        reply({"done": int(cmd[1]), "total": total})
    elif cmd[0] == "claim":
        try:
            sys.monitoring.use_tool_id(int(cmd[1]), "other")
            reply({"claimed": int(cmd[1])})
        except ValueError as e:
            reply({"error": str(e)})
    elif cmd[0] == "quit":
        reply({"bye": True})
        break

"""The command loop of the workloads that tests drive over stdin (with
pyusdttest.Driven): a command per line, "NAME ARG...", and one JSON line
in reply to each.

Lines are read with readline(), never ahead: a child forked by a command
can take the conversation over where its parent left it."""
import json
import sys


class Stop(Exception):
    """Raised by a command to end the loop, after replying with its
    argument (if it has one)."""


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def pyusdt_state(pyusdt):
    """pyusdt.state() as JSON holds it, with the sys.monitoring events of
    pyusdt's tool ("events", 0 while it has none)."""
    st = pyusdt.state()
    st["attached"] = list(st["attached"])
    st["enabled"] = list(st["enabled"])
    tool = st["tool_id"]
    st["events"] = sys.monitoring.get_events(tool) if tool is not None else 0
    return st


def work(i):
    """The function whose calls the tests count, by its name."""
    return i + 1


def run_work(n):
    """The command "work N": work() N times."""
    total = 0
    for i in range(int(n)):
        total += work(i)
    return {"done": int(n), "total": total}


def serve(commands):
    """Run commands[NAME](*ARGS) for each line, and reply with what it
    returns, until the input ends or a command raises Stop."""
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] not in commands:
            reply({"error": "unknown command %r" % cmd[0]})
            continue
        try:
            result = commands[cmd[0]](*cmd[1:])
        except Stop as stop:
            if stop.args:
                reply(stop.args[0])
            return
        reply(result)

"""A program that does nothing but what it is told, for checking what
pyusdt itself does: with "pyusdt" as argv[1] it imports pyusdt, without it
does not.  It records audit events and calls of builtins.__import__ made
after start-up (a program's own hooks: pyusdt must not trigger them).

Commands (one JSON reply each): "hello", "work N", "fork" (a child that
exits at once), "state" (pyusdt's enabled probes, or None), "record"
(audit events and imports seen so far, then forget them), "exit".
"""
import builtins
import json
import os
import sys

if len(sys.argv) > 1 and sys.argv[1] == "pyusdt":
    import pyusdt
else:
    pyusdt = None

audits = []
imports = []
recording = False


def audit(event, args):
    if recording:
        audits.append(event)


real_import = builtins.__import__


def traced_import(name, *args, **kwargs):
    if recording:
        imports.append(name)
    return real_import(name, *args, **kwargs)


sys.addaudithook(audit)
builtins.__import__ = traced_import


def work(i):
    return i + 1


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


recording = True
while True:
    line = sys.stdin.readline()
    if not line:
        break
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "hello":
        reply({"pid": os.getpid()})
    elif cmd[0] == "work":
        total = 0
        for i in range(int(cmd[1])):
            total += work(i)
        reply({"done": int(cmd[1])})
    elif cmd[0] == "fork":
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        reply({"forked": True})
    elif cmd[0] == "state":
        reply({"enabled": list(pyusdt.state()["enabled"]) if pyusdt
               else None})
    elif cmd[0] == "record":
        reply({"audits": sorted(set(audits)), "imports": sorted(set(imports))})
        audits.clear()
        imports.clear()
    elif cmd[0] == "exit":
        reply({"bye": True})
        break

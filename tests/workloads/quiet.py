"""A program that does nothing but what it is told, for checking what
pyusdt itself does: with "pyusdt" as argv[1] it imports pyusdt, without it
does not.  It records audit events and calls of builtins.__import__ made
after start-up (a program's own hooks: pyusdt must not trigger them).

Commands (one JSON reply each): "hello", "work N", "fork" (a child that
exits at once), "state" (pyusdt's enabled probes, or None), "record"
(audit events and imports seen so far, then forget them), "exit".
"""
import builtins
import os
import sys

from serve import Stop, run_work, serve

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


def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return {"forked": True}


def state():
    return {"enabled": list(pyusdt.state()["enabled"]) if pyusdt else None}


def record():
    seen = {"audits": sorted(set(audits)), "imports": sorted(set(imports))}
    audits.clear()
    imports.clear()
    return seen


def exit_():
    raise Stop({"bye": True})


recording = True
serve({"hello": lambda: {"pid": os.getpid()}, "work": run_work,
       "fork": fork, "state": state, "record": record, "exit": exit_})

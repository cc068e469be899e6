"""Attach by PID to a running program and detach: only the attached
probes' events go on, every event while attached is counted, everything
goes off after detach; pyusdt holds a sys.monitoring tool id only while
traced; a tracer attached before import sees events on before `import
pyusdt` returns."""

import subprocess

from pyusdttest import (PYTHON, TAP, Bpftrace, Driven, parse_maps, probe,
                        python_env, require_tracing)

MONITORING_BITS = {"PY_START": 1, "PY_RETURN": 4, "LINE": 32}


def attach(pid, probes):
    # With -p, bpftrace 0.27 attaches a probe named by path twice (the
    # path and /proc/PID/root/path): name it by wildcard, which 0.23 and
    # 0.27 both attach once in the process.
    prog = "\n".join('%s /str(arg0) == "work"/ { @c["%s"] = count(); }'
                     % (probe(p, "*"), p) for p in probes)
    return Bpftrace(prog, pid=pid).start()


def bits(names):
    return sum(MONITORING_BITS[n] for n in names)


def main():
    tap = TAP()
    require_tracing(tap)
    ctl = Driven("ctl.py", hello="state")
    st = ctl.hello
    tap.eq((st["attached"], st["enabled"], st["events"], st["poller"],
            st["tool_id"]), ([], [], 0, True, None),
           "untraced: nothing attached, no event on, poller running, no "
           "tool id held")

    for probes in (["PY_START"], ["PY_RETURN", "LINE"], ["PY_START"]):
        name = "+".join(probes)
        bt = attach(ctl.pid, probes)
        ok, waited = ctl.wait_state("enabled", probes)
        tap.ok(ok, "%s: events on after attach by PID" % name, waited)
        st = ctl.ask("state")
        tap.eq((st["attached"], st["events"], st["tool_id"]),
               (probes, bits(probes), 4),
               "%s: exactly these events on (sys.monitoring.get_events), "
               "tool id 4" % name)
        reply = ctl.ask("work 500")
        maps = parse_maps(bt.stop())
        tap.eq(reply["done"], 500, "%s: program works while traced" % name)
        tap.eq(maps.get("c", {}), {(p,): 500 for p in probes},
               "%s: every call counted, exactly 500 per probe" % name)
        ok, waited = ctl.wait_state("enabled", [])
        tap.ok(ok, "%s: events off after detach" % name, waited)
        st = ctl.ask("state")
        tap.eq((st["attached"], st["events"]), ([], 0),
               "%s: after detach nothing attached, no event on" % name)
        ok, waited = ctl.wait_state("tool_id", None)
        tap.ok(ok, "%s: the tool id given back (a second later)" % name,
               waited)
    # the program takes id 4 while untraced: pyusdt uses 3 at attach
    tap.eq(ctl.ask("claim 4"), {"claimed": 4},
           "untraced: the program can claim tool id 4")
    bt = attach(ctl.pid, ["PY_START"])
    ok, waited = ctl.wait_state("enabled", ["PY_START"])
    st = ctl.ask("state")
    ctl.ask("work 200")
    maps = parse_maps(bt.stop())
    tap.eq((ok, st["tool_id"], maps.get("c", {})),
           (True, 3, {("PY_START",): 200}),
           "id 4 taken while untraced: pyusdt traces with id 3", waited)
    ok, waited = ctl.wait_state("tool_id", None)
    tap.ok(ok, "detached: id 3 given back", waited)
    tap.eq(ctl.ask("claim 3"), {"claimed": 3},
           "the program can claim id 3 then")
    status, err = ctl.finish("quit")
    tap.eq((status, err), (0, ""), "program exits 0 and silent on stderr")

    # tracer first: events on before `import pyusdt` returns
    with Bpftrace("%s { @n = count(); }" % probe("PY_START")):
        proc = subprocess.run(
            [PYTHON, "-c", "import pyusdt; print(pyusdt.state()['enabled'])"],
            env=python_env(PYUSDT_CHECK_MSEC=10000), capture_output=True,
            text=True, timeout=60)
    tap.eq((proc.stdout, proc.stderr), ("('PY_START',)\n", ""),
           "attached before import: on when import returns, without a poll")

    # PYUSDT_VERBOSE=1 reports each change, one line each
    env = python_env(PYUSDT_VERBOSE=1)
    ctl = Driven("ctl.py", env=env, hello="state")
    bt = attach(ctl.pid, ["PY_START"])
    ctl.wait_state("enabled", ["PY_START"])
    bt.stop()
    ctl.wait_state("enabled", [])
    status, err = ctl.finish("quit")
    tap.eq(err, "pyusdt: events on: PY_START\npyusdt: all events off\n",
           "PYUSDT_VERBOSE=1 reports state changes on stderr")
    tap.done()


main()

"""pyusdt's filter: set by pyusdt.set_filter() in a running program, by
PYUSDT_FILTER, by pyusdt --filter and by a script's "// pyusdt-filter:"
line under pyusdt --trace.  bpftrace, attached by PID to
tests/workloads/filtered.py, counts PY_START and PY_RETURN exactly for
the functions that match (a name, a qualified name, a file) and 0 for
the others, across filter changes (which give DISABLEd locations their
events back).  A malformed or over-long filter gives one warning and no
filter.  A coverage-style tool next to pyusdt (LINE events, DISABLE
after the first) still records exactly the lines that ran."""

import os
import subprocess

from pyusdttest import (PYTHON, TAP, Bpftrace, Driven, parse_maps,
                        python_env, require_tracing, workload_normalized)

COUNT = ('usdt:*:pyusdt:PY_START { @s[str(arg0)] = count(); }\n'
         'usdt:*:pyusdt:PY_RETURN { @r[str(arg0)] = count(); }')
NAMES = ("target", "other", "run")


def counts(maps):
    """{name: (starts, returns)} of the workload's three functions."""
    return {n: (maps.get("s", {}).get((n,), 0),
                maps.get("r", {}).get((n,), 0)) for n in NAMES}


def traced(prog, commands):
    """bpftrace -p on prog while it runs commands, then quits: (replies,
    exit status, {name: (starts, returns)})."""
    bt = Bpftrace(COUNT, pid=prog.pid)
    bt.start()
    try:
        prog.wait_state("enabled", ["PY_START", "PY_RETURN"])
        replies = [prog.ask(c) for c in commands]
        status, err = prog.finish("quit")
        maps = parse_maps(bt.wait(timeout=60))
    finally:
        bt.stop()
    return replies, status, err, counts(maps)


def test_api(tap):
    prog = Driven("filtered.py", hello="state")
    replies, status, err, got = traced(prog, [
        "filter target", "call target 100", "call other 300", "call run 7",
        "filter Engine.*", "call run 5", "call target 3",
        "filter */filtered.py", "call other 4",
        "filter -", "call target 2"])
    tap.eq([r["filter"] for r in replies if "filter" in r],
           ["target", "Engine.*", "*/filtered.py", None],
           "pyusdt.set_filter(): state()['filter'] follows it")
    tap.eq((status, err), (0, ""), "the program runs as without a filter")
    tap.eq(got, {"target": (102, 102), "run": (5, 5), "other": (4, 4)},
           "by name (target: 100 of 100), by qualified name (Engine.*: 5 "
           "of run's 12), by file (*/filtered.py: 4 of other's 304), then "
           "none (target: 2): exact PY_START and PY_RETURN counts")


def test_environment(tap):
    prog = Driven("filtered.py", env=python_env(PYUSDT_FILTER="other"),
                  hello="state")
    replies, status, err, got = traced(prog, [
        "state", "call target 50", "call other 20"])
    tap.eq((replies[0]["filter"], got["target"], got["other"]),
           ("other", (0, 0), (20, 20)),
           "PYUSDT_FILTER=other: other() 20 of 20, target() 0 of 50")


def test_bad(tap):
    for value, why in (
            ("a,,b", 'an empty pattern (",,", or a comma at an end)'),
            ("x," * 64 + "x", "more than 64 patterns"),
            ("f" * 4097, "longer than 4096 bytes"),
            ("a\tb", "a control character in it")):
        p = subprocess.run([PYTHON, "-c", "import pyusdt; "
                            "print(pyusdt.state()['filter'])"],
                           env=python_env(PYUSDT_FILTER=value),
                           capture_output=True, text=True)
        tap.eq((p.stdout, p.stderr),
               ("None\n", "pyusdt: ignoring the filter: %s; no filter\n"
                % why), "PYUSDT_FILTER of %s: one warning, no filter" % why)


def test_launcher(tap):
    code = "import pyusdt; print(pyusdt.state()['filter'])"
    p = subprocess.run([PYTHON, "-m", "pyusdt", "--filter", "work,*/x/*",
                        "-c", code], env=python_env(), capture_output=True,
                       text=True)
    tap.eq((p.returncode, p.stdout, p.stderr), (0, "work,*/x/*\n", ""),
           "pyusdt --filter PATTERNS: the program runs with the filter")
    # latency.bt's "// pyusdt-filter: $1": FUNCTION is the filter
    prog = ("import pyusdt\n"
            "def target(): pass\n"
            "def other(): pass\n"
            "for i in range(300): other()\n"
            "for i in range(100): target()\n"
            "print(pyusdt.state()['filter'])\n")
    scripts = os.path.join(os.environ.get("PYUSDT_TEST_BUILDDIR", "."),
                           "tests", "scripts")
    p = subprocess.run([PYTHON, "-m", "pyusdt", "--trace",
                        os.path.join(scripts, "latency.bt"), "--trace-arg",
                        "target", "-c", prog], env=python_env(),
                       capture_output=True, text=True, timeout=300)
    # (bpftrace 0.27 writes its warnings about the script to stdout)
    tap.ok(p.returncode == 0 and "Tracing calls of target" in p.stdout
           and "\ntarget\n" in p.stdout and
           "target: 100 calls, average" in p.stdout,
           "pyusdt --trace latency.bt target: the script's filter line "
           "sets the filter, 100 calls timed", p.stdout + p.stderr)


def test_coverage(tap):
    """A coverage-style tool stays right: restart_events() gives it the
    lines it had DISABLEd again, and it records each once."""
    path = workload_normalized("filtered.py")
    lines = open(path).read().splitlines()

    def line(text):
        return lines.index(text) + 1

    prog = Driven("filtered.py", args=["coverage"], hello="state")
    bt = Bpftrace(COUNT, pid=prog.pid)
    bt.start()
    try:
        prog.wait_state("enabled", ["PY_START", "PY_RETURN"])
        prog.ask("call target 3")
        before = prog.ask("coverage")
        prog.ask("filter run")
        prog.ask("call target 3")
        prog.ask("call run 2")
        after = prog.ask("coverage")
        status, err = prog.finish("quit")
        got = counts(parse_maps(bt.wait(timeout=60)))
    finally:
        bt.stop()
    body = {n: line(t) for n, t in (("target", "    return i + 1"),
                                    ("other", "    return i - 1"),
                                    ("run", "        return i * 2"))}
    cov = set(after["lines"])
    tap.ok(body["target"] in before["lines"] and
           body["target"] in cov and body["run"] in cov and
           body["other"] not in cov and set(before["lines"]) <= cov,
           "a coverage-style tool next to the filter: target's and run's "
           "lines recorded, other's (never run) not", str(after))
    tap.ok(after["events"] > before["events"] + 2,
           "... restart_events() gave it the lines it had DISABLEd "
           "(%d events, %d before the filter changed)"
           % (after["events"], before["events"]))
    tap.eq((status, got["target"], got["run"]), (0, (3, 3), (2, 2)),
           "... and pyusdt counts exactly: target 3, then under the "
           "filter \"run\", run 2 and target none")


def main():
    tap = TAP()
    require_tracing(tap)
    tap.run(test_api)
    tap.run(test_environment)
    tap.run(test_bad)
    tap.run(test_launcher)
    tap.run(test_coverage)
    tap.done()


main()

"""Other tools: pyusdt next to cProfile, a
coverage-style sys.monitoring tool (DISABLE, restart_events), another
sys.monitoring tool, sys.settrace (pdb-style), sys.setprofile, pdb itself
and a sub-interpreter running meanwhile (where pyusdt cannot be imported:
ImportError, no crash; item 7).  Every tool sees exactly what it sees
without pyusdt, traced or not, and the tracer counts every call.
Untraced, pyusdt holds no tool id (the program can take any); traced, it
takes a free one (4, 3, 5), and with none free it stays inactive with one
warning line while the program runs unchanged; a program that takes
pyusdt's id away keeps it (pyusdt warns once and moves to another)."""

import subprocess
import sys

from pyusdttest import (PYTHON, TAP, Bpftrace, parse_maps, probe, python_env,
                        require_tracing, workload_normalized)

NO_ID = ("pyusdt: no free sys.monitoring tool id (3, 4 and 5 are taken); "
         "probes stay inactive\n")
TOTAL = "total 45150\n"


def expected(tools):
    lines = []
    for t in tools:
        lines.append({
            "cprofile": "cprofile work calls [300]",
            "coverage": "coverage work lines [0, 1, 2]",
            "counter": "counter work {'start': 300, 'line': 600}",
            "settrace": "settrace work {'call': 300, 'line': 600, "
                        "'return': 300}",
            "setprofile": "setprofile work {'call': 300, 'return': 300}",
            "steal": "thief work {'start': 300}, events 1, callback kept "
                     "True",
            "none": None,
            "subinterp": None,
            "pdb": "pdb printed i = ['0', '1', '2'], total 45150",
            "pdbmon": "pdb printed i = ['0', '1', '2'], total 45150",
        }[t])
    # reports come in the reverse order of the tools' set-up
    order = ["cprofile", "setprofile", "settrace", "counter", "coverage"]
    reports = [lines[tools.index(t)] for t in order if t in tools]
    if "steal" in tools:
        reports.insert(0, lines[tools.index("steal")])
    for t in ("pdb", "pdbmon"):
        if t in tools:
            reports.insert(0, lines[tools.index(t)])
    return "".join(r + "\n" for r in reports)


CASES = [
    # (tools, ids taken before import, pyusdt's id at the end while traced,
    #  traced hits, traced stderr); untraced, pyusdt holds no id and
    #  writes nothing
    (["cprofile"], [], 4, 300, ""),
    (["coverage"], [], 4, 300, ""),
    (["counter"], [], 4, 300, ""),
    (["settrace"], [], 4, 300, ""),
    (["setprofile"], [], 4, 300, ""),
    (["pdb"], [], 4, 300, ""),
    (["cprofile", "coverage", "counter", "settrace", "setprofile"], [4], 3,
     300, ""),
    (["none"], [4], 3, 300, ""),
    (["none"], [4, 3], 5, 300, ""),
    (["cprofile", "coverage"], [3, 4, 5], None, 0, NO_ID),
    (["none"], [0, 1, 2, 3, 4, 5], None, 0, NO_ID),
    (["subinterp"], [], 4, 300, ""),
    (["steal"], [], 3, 300,
     "pyusdt: sys.monitoring tool id 4 is no longer pyusdt's; pyusdt "
     "leaves it to its new owner\n"),
]


def run(tools, ids):
    return subprocess.run([PYTHON, workload_normalized("other_tools.py"),
                           "+".join(tools)]
                          + [str(i) for i in ids], env=python_env(),
                          capture_output=True, text=True, timeout=120)


def plain(tools, ids):
    """The same program with pyusdt's import made a no-op."""
    code = ("import sys, types\n"
            "m = types.ModuleType('pyusdt')\n"
            "m.state = lambda: {'tool_id': 'n/a'}\n"
            "m.refresh = m.state\n"
            "sys.modules['pyusdt'] = m\n"
            "sys.argv = %r\n"
            "exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'))\n"
            % ([workload_normalized("other_tools.py"), "+".join(tools)]
               + [str(i) for i in ids]))
    return subprocess.run([PYTHON, "-c", code], env=python_env(),
                          capture_output=True, text=True, timeout=120)


def creturn(tap):
    """A sys.setprofile profiler set while CALL events are on sees a
    c_return for the call that set it: CPython instruments the CALL
    instruction for the CALL event, and reports the C call's return to
    every tool with C_RETURN on when it returns, the new profiler
    included.  Any tool with CALL on does the same: pyusdt adds nothing
    to what such a tool causes."""
    def run(mode):
        return subprocess.run([PYTHON, workload_normalized("creturn.py"),
                               mode],
                              env=python_env(), capture_output=True,
                              text=True, timeout=60).stdout.strip()
    plain = run("plain")
    tool = run("tool")
    with Bpftrace("%s { @n = count(); }" % probe("CALL")):
        traced = run("pyusdt")
    tap.eq(plain, "['c_call', 'c_return', 'c_call']",
           "setprofile alone: c_call, c_return of len(), c_call of "
           "setprofile(None)")
    extra = "['c_return', 'c_call', 'c_return', 'c_call']"
    tap.eq((tool, traced), (extra, extra),
           "with CALL on, a pure-Python tool and pyusdt's CALL probe: the "
           "same extra c_return (CPython's own)")


def main():
    tap = TAP()
    require_tracing(tap)
    creturn(tap)
    if sys.version_info >= (3, 14):
        CASES.append((["pdbmon"], [], 4, 300, ""))
    path = workload_normalized("other_tools.py")
    untraced = {}
    for tools, ids, _tool_id, _hits, _err in CASES:
        name = "+".join(tools) + (" (ids %s taken)" % ids if ids else "")
        proc = run(tools, ids)
        want = expected(tools) + TOTAL + "pyusdt tool id None\n"
        if "subinterp" in tools:
            # the sub-interpreter prints first (joined before the report)
            want = "sub: ImportError\n" + want
        untraced[name] = (proc.returncode, proc.stdout, proc.stderr)
        tap.eq(untraced[name], (0, want, ""),
               "%s, untraced: every tool sees all 300 calls; pyusdt holds "
               "no id" % name)
        if "steal" not in tools:
            base = plain(tools, ids)
            tap.eq((base.returncode, base.stdout.rsplit("pyusdt", 1)[0]),
                   (0, want.rsplit("pyusdt", 1)[0]),
                   "%s: the tools see the same without pyusdt" % name)

    prog = "\n".join(
        '%s /str(arg1) == "%s" && str(arg0) == "work"/ '
        '{ @c["%s", pid] = count(); }' % (probe(p), path, p)
        for p in ("PY_START", "PY_RETURN"))
    pids = {}
    results = {}
    with Bpftrace(prog) as bt:
        for tools, ids, _tool_id, _hits, _err in CASES:
            name = "+".join(tools) + (" (ids %s taken)" % ids if ids else "")
            p = subprocess.Popen(
                [PYTHON, path, "+".join(tools)] + [str(i) for i in ids],
                env=python_env(), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            out, err = p.communicate(timeout=120)
            pids[name] = p.pid
            results[name] = (p.returncode, out, err)
        text = bt.stop()
    counts = parse_maps(text).get("c", {})
    for tools, ids, tool_id, hits, err in CASES:
        name = "+".join(tools) + (" (ids %s taken)" % ids if ids else "")
        status, out, _ = untraced[name]
        want = (status, out.replace("pyusdt tool id None",
                                    "pyusdt tool id %r" % tool_id), err)
        tap.eq(results[name], want,
               "%s, traced: output and status as untraced, pyusdt's id %r"
               % (name, tool_id))
        got = [counts.get((p, str(pids[name])), 0)
               for p in ("PY_START", "PY_RETURN")]
        tap.eq(got, [hits, hits], "%s, traced: %d calls of work() counted"
               % (name, hits))
    tap.done()


main()

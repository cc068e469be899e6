"""pyusdt next to other tools: argv[1] names the tools in use (joined by
"+"), argv[2:] are sys.monitoring tool ids claimed by another tool before
pyusdt is imported.  work() runs 300 times under the tools; the program
prints what each tool saw, and pyusdt's tool id.

  cprofile     cProfile (sys.monitoring tool 2 since 3.12)
  coverage     a coverage-style sys.monitoring tool (id 1): LINE and
               PY_START callbacks that return DISABLE, restart_events()
  counter      a sys.monitoring tool (id 0) counting every PY_START/LINE
  settrace     a pdb-style sys.settrace tracer (call/line/return)
  setprofile   a sys.setprofile profiler (call/return)
  pdb          pdb itself: a breakpoint in work(), hit 3 times, cleared
  pdbmon       the same with pdb's sys.monitoring backend (3.14+)
  subinterp    a sub-interpreter running in a thread meanwhile, which
               tries to import pyusdt's extension (main interpreter only)
  none         no other tool
  steal        after pyusdt's import, claim the tool id pyusdt holds
               (freeing it: rude, but possible) or would take (4) for a
               tool counting PY_START
"""
import io
import os
import sys

mon = sys.monitoring
E = mon.events
TOOLS = sys.argv[1].split("+")
for tool_id in sys.argv[2:]:
    mon.use_tool_id(int(tool_id), "other")

import pyusdt  # noqa: E402

N = 300


def work(i):
    x = i + 1
    return x


def run():
    total = 0
    for i in range(N):
        total += work(i)
    return total


report = []
cleanup = []

if "coverage" in TOOLS:
    seen = set()

    def cov_line(code, line):
        seen.add((code.co_name, line - code.co_firstlineno))
        return mon.DISABLE

    def cov_start(code, offset):
        seen.add((code.co_name, 0))
        return mon.DISABLE

    mon.use_tool_id(mon.COVERAGE_ID, "coverage")
    mon.register_callback(mon.COVERAGE_ID, E.LINE, cov_line)
    mon.register_callback(mon.COVERAGE_ID, E.PY_START, cov_start)
    mon.set_events(mon.COVERAGE_ID, E.LINE | E.PY_START)
    mon.restart_events()

    def coverage_report():
        mon.set_events(mon.COVERAGE_ID, 0)
        lines = sorted(l for n, l in seen if n == "work")
        report.append("coverage work lines %r" % lines)
        mon.free_tool_id(mon.COVERAGE_ID)

    cleanup.append(coverage_report)

if "counter" in TOOLS:
    counts = {"start": 0, "line": 0}

    def cnt_start(code, offset):
        if code.co_name == "work":
            counts["start"] += 1

    def cnt_line(code, line):
        if code.co_name == "work":
            counts["line"] += 1

    mon.use_tool_id(mon.DEBUGGER_ID, "counter")
    mon.register_callback(mon.DEBUGGER_ID, E.PY_START, cnt_start)
    mon.register_callback(mon.DEBUGGER_ID, E.LINE, cnt_line)
    mon.set_events(mon.DEBUGGER_ID, E.PY_START | E.LINE)
    cleanup.append(lambda: report.append("counter work %r" % counts))

if "settrace" in TOOLS:
    traced = {"call": 0, "line": 0, "return": 0}

    def local(frame, event, arg):
        if frame.f_code.co_name == "work" and event in traced:
            traced[event] += 1
        return local

    def global_trace(frame, event, arg):
        if frame.f_code.co_name == "work":
            traced["call"] += 1
            return local
        return None

    sys.settrace(global_trace)
    cleanup.append(lambda: (sys.settrace(None), report.append(
        "settrace work %r" % traced)))

if "setprofile" in TOOLS:
    profiled = {"call": 0, "return": 0}

    def prof(frame, event, arg):
        if frame.f_code.co_name == "work" and event in profiled:
            profiled[event] += 1

    sys.setprofile(prof)
    cleanup.append(lambda: (sys.setprofile(None), report.append(
        "setprofile work %r" % profiled)))

if "cprofile" in TOOLS:
    import cProfile
    import pstats
    profiler = cProfile.Profile()
    profiler.enable()

    def cprofile_report():
        profiler.disable()
        stats = pstats.Stats(profiler).stats
        calls = [v[1] for k, v in stats.items() if k[2] == "work"]
        report.append("cprofile work calls %r" % calls)

    cleanup.append(cprofile_report)

if "steal" in TOOLS:
    # the id pyusdt holds while traced, or the one it would take
    stolen = pyusdt.refresh()["tool_id"]
    if stolen is not None:
        mon.free_tool_id(stolen)
    else:
        stolen = 4
    thief = {"start": 0}

    def thief_start(code, offset):
        if code.co_name == "work":
            thief["start"] += 1

    mon.use_tool_id(stolen, "thief")
    mon.register_callback(stolen, E.PY_START, thief_start)
    mon.set_events(stolen, E.PY_START)
    pyusdt.refresh()    # pyusdt notices (a poll would too)

    def steal_report():
        report.append("thief work %r, events %d, callback kept %r" % (
            thief, mon.get_events(stolen),
            mon.register_callback(stolen, E.PY_START, None) is thief_start))
        mon.set_events(stolen, 0)
        mon.free_tool_id(stolen)

    cleanup.append(steal_report)

if "subinterp" in TOOLS:
    import threading
    SUB = ("def work(i):\n    return i\n"
           "for i in range(100000):\n    work(i)\n"
           "try:\n    import pyusdt._pyusdt\n    print('imported')\n"
           "except ImportError as e:\n    print('sub:', type(e).__name__)\n")
    try:
        from concurrent import interpreters

        def sub():
            interp = interpreters.create()
            interp.exec(SUB)
            interp.close()
    except ImportError:
        import _interpreters

        def sub():
            n = _interpreters.create()
            _interpreters.exec(n, SUB)
            _interpreters.destroy(n)
    subthread = threading.Thread(target=sub)
    subthread.start()
    cleanup.append(subthread.join)

if "pdb" in TOOLS or "pdbmon" in TOOLS:
    import pdb
    out = io.StringIO()
    commands = "break work\ncontinue\np i\ncontinue\np i\ncontinue\np i\n" \
        "clear 1\ncontinue\n"
    extra = {"backend": "monitoring"} if "pdbmon" in TOOLS else {}
    debugger = pdb.Pdb(stdin=io.StringIO(commands), stdout=out, **extra)
    debugger.use_rawinput = False
    total = debugger.runcall(run)
    if os.environ.get("REL_SHOW"):
        sys.stderr.write(out.getvalue())
    seen = [l.rsplit(") ", 1)[-1] for l in out.getvalue().splitlines()
            if l.startswith("(Pdb) ") and l.rsplit(") ", 1)[-1].isdigit()]
    report.append("pdb printed i = %r, total %d" % (seen, total))
else:
    total = run()

for fn in reversed(cleanup):
    fn()
report.append("total %d" % total)
report.append("pyusdt tool id %r" % pyusdt.refresh()["tool_id"])
print("\n".join(report))

"""pyusdt's benchmark workloads, and the process that runs one of them.

usage: python3 workloads.py WORKLOAD MODE RUNS [SCALE]
       python3 workloads.py repr MODE CALLS
       python3 workloads.py latency|latency-busy - -

WORKLOAD is one of WORKLOADS; MODE says what else the process does:
  plain      nothing (pyusdt is not imported)
  pyusdt     import pyusdt (events go on when a tracer is attached)
  cprofile   cProfile.Profile() enabled around the runs
  pymon      a sys.monitoring tool in Python counting every event pyusdt
             has a probe for
  fakesem:P,Q  import pyusdt, raise the semaphores of probes P, Q by hand
             (no tracer: the probe sites run as plain nops; for callgrind)
  austin:I   plain, sampled from outside by austin every I (10ms, 1ms)
  ctypes     import ctypes instead (a control: any extension module moves
             the memory layout, which alone changes timings a little)
Times are the CPU time of the thread (time.thread_time_ns).
PYUSDT_BENCH_PAD=N allocates N objects first (a random heap offset per
process); PYUSDT_BENCH_COLLECT=0 turns the garbage collector off (for
deterministic instruction counts).
The workload runs once untimed (warm-up: the first run instruments the
code), then RUNS times, each timed.  RUNS 0 measures what the start and the
warm-up alone cost (hits counted by a tracer are subtracted).  One JSON
line is printed: {"times": [ns per run], ...}.

Every workload is deterministic: each run fires the same events.
"""

import gc
import json
import os
import select
import sys
import time


# ------------------------------------------------------------ recursion
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def recursion(scale):
    """call/return: 1 PY_START, 1 PY_RETURN, ~1 CALL, 1 LINE per call."""
    return sum(fib(20) for _ in range(8 * scale))


# ------------------------------------------------------------ generators
def numbers(n):
    for i in range(n):
        yield i


def doubled(it):
    for x in it:
        yield 2 * x


def fours(it):
    for x in it:
        if x % 4 == 0:
            yield x


async def ticker(k):
    import asyncio
    total = 0
    for i in range(k):
        await asyncio.sleep(0)
        total += i
    return total


async def tickers(n, k):
    import asyncio
    return sum(await asyncio.gather(*(ticker(k) for _ in range(n))))


def generators(scale):
    """yield/resume: a pipeline of three generators, then asyncio tasks
    switching on sleep(0) (the event loop's own Python code included)."""
    import asyncio
    total = sum(fours(doubled(numbers(12000 * scale))))
    total += asyncio.run(tickers(20, 30 * scale))
    return total


# ------------------------------------------------------------ lines
def lines(scale):
    """LINE: a loop of simple statements, few calls."""
    a = b = c = d = 0
    for i in range(25000 * scale):
        a = i + 1
        b = a * 3
        c = b - i
        d = c ^ a
        a = d & 1023
        b = a | 7
        c = b + d
        d = c % 11
    return a + b + c + d


# ------------------------------------------------------------ exceptions
class Invalid(Exception):
    pass


def check(i, depth):
    if depth:
        return check(i, depth - 1)
    if i % 3 == 0:
        raise Invalid(i)
    if i % 3 == 1:
        raise KeyError(i)
    return i


def exceptions(scale):
    """RAISE, PY_UNWIND: exceptions raised 3 frames deep and caught."""
    caught = 0
    for i in range(3000 * scale):
        try:
            check(i, 2)
        except (Invalid, KeyError):
            caught += 1
        try:
            int("x%d" % i)
        except ValueError:
            caught += 1
    return caught


# ------------------------------------------------------------ mixed
class Record:
    __slots__ = ("host", "status", "path", "size", "ms")

    def __init__(self, host, status, path, size, ms):
        self.host = host
        self.status = status
        self.path = path
        self.size = size
        self.ms = ms

    @property
    def ok(self):
        return self.status < 400


def make_log(n):
    hosts = ["10.0.%d.%d" % (i % 7, i % 13) for i in range(40)]
    paths = ["/api/v1/items/%d" % i for i in range(25)] + ["/", "/login"]
    out = []
    for i in range(n):
        if i % 97 == 0:
            out.append("garbage line %d" % i)
            continue
        status = (200, 200, 200, 301, 404, 500)[i % 6]
        out.append("%s - - [%d] \"GET %s HTTP/1.1\" %d %d %.3f" % (
            hosts[i % 40], 1700000000 + i, paths[(i * 7) % 27], status,
            (i * 37) % 5000, ((i * 13) % 900) / 1000))
    return out


def parse(line):
    parts = line.split()
    if len(parts) != 10:
        raise ValueError("bad line")
    return Record(parts[0], int(parts[7]), parts[5], int(parts[8]),
                  float(parts[9]))


def to_json(obj):
    if isinstance(obj, dict):
        return "{" + ", ".join('"%s": %s' % (k, to_json(v))
                               for k, v in sorted(obj.items())) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(to_json(v) for v in obj) + "]"
    if isinstance(obj, float):
        return "%.3f" % obj
    return str(obj)


LOG = []


def mixed(scale):
    """A log analyzer: parsing, objects, dicts, sorting, generator
    expressions, formatting, a few exceptions."""
    records, bad = [], 0
    for line in LOG[:2500 * scale]:
        try:
            records.append(parse(line))
        except ValueError:
            bad += 1
    by_path = {}
    for r in records:
        s = by_path.setdefault(r.path, {"hits": 0, "bytes": 0, "errors": 0,
                                        "ms": []})
        s["hits"] += 1
        s["bytes"] += r.size
        s["errors"] += not r.ok
        s["ms"].append(r.ms)
    report = []
    for path, s in sorted(by_path.items(), key=lambda kv: -kv[1]["hits"]):
        ms = sorted(s.pop("ms"))
        s["p50"] = ms[len(ms) // 2]
        s["p90"] = ms[int(len(ms) * 0.9)]
        report.append({"path": path, **s})
    hosts = {}
    for r in records:
        hosts[r.host] = hosts.get(r.host, 0) + 1
    top = sorted(hosts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    text = to_json({"bad": bad, "paths": report, "top": top})
    return len(text) + sum(1 for r in records if r.ok)


def blocking(scale):
    """Off-CPU waits (offcpu.bt's cost): short timed waits in select(),
    each a switch out and back in a system call, with a little Python
    between them."""
    t = 0
    for i in range(40 * scale):
        select.select([], [], [], 0.0002)
        t += sum(range(20))
    return t


def wanted(i):
    return i + 1


def unwanted(i):
    return i - 1


def filtered(scale):
    """The filter's case: wanted() 100 times inside a loop of 300,000
    calls of unwanted() (scale 1)."""
    t = 0
    for i in range(300000 * scale):
        t += unwanted(i)
        if i % 3000 == 0:
            t += wanted(i)
    return t


WORKLOADS = {
    "blocking": blocking,
    "filtered": filtered,
    "recursion": recursion,
    "generators": generators,
    "lines": lines,
    "exceptions": exceptions,
    "mixed": mixed,
}

def all_probes():
    import pyusdt
    return pyusdt.PROBES


def install_pymon():
    """The plainest Python sys.monitoring tool: one callback counting
    every event pyusdt has a probe for."""
    mon = sys.monitoring
    tool = 3
    mon.use_tool_id(tool, "bench-counter")
    count = [0]

    def counter(*args):
        count[0] += 1

    mask = 0
    for name in all_probes():
        ev = getattr(mon.events, name)
        mon.register_callback(tool, ev, counter)
        mask |= ev
    mon.set_events(tool, mask)
    return count


def fake_semaphores(probes):
    """Raise the semaphores by hand, as the kernel does for a tracer: the
    callbacks run and the probe sites execute as nops (no uprobe)."""
    import ctypes
    import pyusdt
    lib = ctypes.CDLL(pyusdt.LIBRARY)
    # CPython's probes' semaphores are hidden: reached through the table
    table = ctypes.POINTER(ctypes.c_ushort) * len(pyusdt.PYTHON_PROBES)
    python = table.in_dll(lib, "pyusdt_python_semaphore")
    for p in probes:
        if p.startswith("python:"):
            python[pyusdt.PYTHON_PROBES.index(p[7:])][0] += 1
        else:
            ctypes.c_ushort.in_dll(lib, "pyusdt_%s_semaphore" % p).value += 1
    pyusdt.refresh()


def rss_kb(field="VmRSS"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def trampoline():
    """Whether the kernel optimized a uprobe in this process."""
    with open("/proc/self/maps") as f:
        return "[uprobes-trampoline]" in f.read()


def latency(busy):
    """Watch pyusdt's state every millisecond and print each change of
    the attached (semaphores) or enabled (events) probes with its time,
    until killed.  busy: compute between looks, holding the GIL (the
    poller has to wait for it), instead of sleeping."""
    import pyusdt
    last = None
    print(json.dumps({"ready": True}), flush=True)
    while True:
        st = pyusdt.state()
        now = time.monotonic()
        cur = (st["attached"], st["enabled"])
        if cur != last:
            print(json.dumps({"t": now, "attached": list(cur[0]),
                              "enabled": list(cur[1])}), flush=True)
            last = cur
        if busy:
            end = now + 0.001
            x = 0
            while time.monotonic() < end:
                x += 1
        else:
            time.sleep(0.001)


def repr_cost(calls):
    """ns per call of a function returning values whose repr is small,
    fills the buffer, or would be huge (PY_RETURN writes the repr)."""
    values = {
        "list3": [1, 2, 3],
        "list1000": list(range(1000)),
        "list10M": list(range(10 ** 7)),
        "str3": "abc",
        "str1K": "x" * 1024,
        "str100M": "x" * 10 ** 8,
    }
    result = {}
    for kind, value in values.items():
        ns = {}
        exec("def ret():\n    return value\n", {"value": value}, ns)
        ret = ns["ret"]
        best = None
        for _ in range(4):
            t0 = time.thread_time_ns()
            for _ in range(calls):
                ret()
            t = (time.thread_time_ns() - t0) / calls
            best = t if best is None else min(best, t)
        result[kind] = best
    return result


def shuffle_layout():
    """Move the heap a random amount (PYUSDT_BENCH_PAD objects), so that
    each process has its own memory layout: a layout that happens to suit
    or not suit a workload (cache sets, alignment) then averages out over
    the processes instead of favouring one configuration."""
    n = int(os.environ.get("PYUSDT_BENCH_PAD", "0"))
    return [object() for _ in range(n)] + [bytearray(n % 4096)]


def main():
    _pad = shuffle_layout()  # noqa: F841
    name, mode = sys.argv[1], sys.argv[2]
    if name in ("latency", "latency-busy"):
        latency(name == "latency-busy")
        return
    runs = int(sys.argv[3])
    scale = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    result = {}
    work = WORKLOADS.get(name)
    if name == "mixed":
        LOG[:] = make_log(2500 * scale)
    rss0 = rss_kb()
    if mode == "pyusdt":
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        import pyusdt
        result["import_ns"] = time.perf_counter_ns() - t0
        result["import_cpu_ns"] = time.process_time_ns() - c0
        result["import_rss_kb"] = rss_kb() - rss0
        result["enabled"] = list(pyusdt.state()["enabled"])
        result["library"] = pyusdt.LIBRARY
    elif mode.startswith("fakesem:"):
        fake_semaphores([p for p in mode[8:].split(",") if p])
    elif mode == "ctypes":
        import ctypes  # noqa: F401  (a control: another C extension)
    if name == "repr":
        result["ns_per_call"] = repr_cost(runs)
        result["trampoline"] = trampoline()
        sys.stdout.write(json.dumps(result) + "\n")
        return
    profiler = count = None
    if mode == "cprofile":
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    elif mode == "pymon":
        count = install_pymon()
    work(scale)                      # warm-up
    events0 = count[0] if count else 0
    # for instruction counts: no garbage collection at all (when and what
    # it collects depends on everything else the process has allocated)
    collect = os.environ.get("PYUSDT_BENCH_COLLECT", "1") == "1"
    if not collect:
        gc.collect()
        gc.disable()
    times, walls = [], []
    for _ in range(runs):
        if collect:
            gc.collect()
        w0 = time.perf_counter_ns()
        t0 = time.thread_time_ns()
        work(scale)
        times.append(time.thread_time_ns() - t0)
        walls.append(time.perf_counter_ns() - w0)
    if profiler is not None:
        profiler.disable()
    if count is not None:
        result["events_per_run"] = (count[0] - events0) / max(runs, 1)
    result["times"] = times          # CPU time of this thread
    result["walls"] = walls          # wall-clock time
    result["maxrss_kb"] = rss_kb("VmHWM")
    result["trampoline"] = trampoline()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

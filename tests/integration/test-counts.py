"""Exact hit counts of every probe for workloads whose events are known,
with the tracer attached before the program starts (no event lost), and
balanced entries/exits in every thread."""

from pyusdttest import (TAP, counts_for, per_thread, require_tracing,
                        trace_workload, workload)

ENTRIES = ("PY_START", "PY_RESUME", "PY_THROW")
EXITS = ("PY_RETURN", "PY_YIELD", "PY_UNWIND")

EXPECTED = {
    "recursion.py": {
        ("PY_START", "<module>"): 1, ("PY_RETURN", "<module>"): 1,
        ("CALL", "<module>"): 2, ("LINE", "<module>"): 3,
        ("PY_START", "fib"): 1973, ("PY_RETURN", "fib"): 1973,
        ("CALL", "fib"): 1972, ("LINE", "fib"): 1973,
    },
    "generators.py": {
        ("PY_START", "<module>"): 1, ("PY_RETURN", "<module>"): 1,
        ("CALL", "<module>"): 6, ("LINE", "<module>"): 213,
        ("RAISE", "<module>"): 1,
        ("PY_START", "count_up"): 1, ("PY_YIELD", "count_up"): 100,
        ("PY_RESUME", "count_up"): 100, ("PY_RETURN", "count_up"): 1,
        ("CALL", "count_up"): 1, ("LINE", "count_up"): 201,
        ("PY_START", "catching"): 1, ("PY_YIELD", "catching"): 2,
        ("PY_THROW", "catching"): 2, ("RAISE", "catching"): 2,
        ("PY_UNWIND", "catching"): 1, ("LINE", "catching"): 4,
    },
    "exceptions.py": {
        ("PY_START", "<module>"): 1, ("PY_RETURN", "<module>"): 1,
        ("CALL", "<module>"): 2, ("LINE", "<module>"): 4,
        ("PY_START", "catcher"): 1, ("PY_RETURN", "catcher"): 1,
        ("CALL", "catcher"): 11, ("LINE", "catcher"): 53,
        ("RAISE", "catcher"): 10,
        ("PY_START", "thrower"): 40, ("PY_UNWIND", "thrower"): 40,
        ("CALL", "thrower"): 40, ("LINE", "thrower"): 80,
        ("RAISE", "thrower"): 40,
    },
    "threads.py": {
        ("PY_START", "<module>"): 1, ("PY_RETURN", "<module>"): 1,
        ("CALL", "<module>"): 14, ("LINE", "<module>"): 24,
        ("PY_START", "loop"): 4, ("PY_RETURN", "loop"): 4,
        ("CALL", "loop"): 4004, ("LINE", "loop"): 8004,
        ("PY_START", "work"): 4000, ("PY_RETURN", "work"): 4000,
        ("LINE", "work"): 4000,
    },
    # RAISE is left out: how asyncio's internals raise StopIteration
    # changes between Python versions.
    "coroutines.py": {
        ("PY_START", "<module>"): 1, ("PY_RETURN", "<module>"): 1,
        ("CALL", "<module>"): 3, ("LINE", "<module>"): 5,
        ("PY_START", "main"): 1, ("PY_YIELD", "main"): 1,
        ("PY_RESUME", "main"): 1, ("PY_RETURN", "main"): 1,
        ("CALL", "main"): 4, ("LINE", "main"): 1,
        ("PY_START", "<genexpr>"): 1, ("PY_YIELD", "<genexpr>"): 5,
        ("PY_RESUME", "<genexpr>"): 5, ("PY_RETURN", "<genexpr>"): 1,
        ("CALL", "<genexpr>"): 5, ("LINE", "<genexpr>"): 1,
        ("PY_START", "leaf"): 5, ("PY_YIELD", "leaf"): 10,
        ("PY_RESUME", "leaf"): 10, ("PY_RETURN", "leaf"): 5,
        ("CALL", "leaf"): 30, ("LINE", "leaf"): 55,
    },
}
IGNORED = {"coroutines.py": {"RAISE"}}
STDOUT = {"recursion.py": "610", "generators.py": "4950",
          "exceptions.py": "10", "threads.py": "done", "coroutines.py": "10"}


def check_balance(tap, name, threads):
    for tid, hits in sorted(threads.items()):
        entries = sum(hits.get(p, 0) for p in ENTRIES)
        exits = sum(hits.get(p, 0) for p in EXITS)
        tap.ok(entries == exits,
               "%s: thread %d balanced (%d entries, %d exits)"
               % (name, tid, entries, exits), hits)


def main():
    tap = TAP()
    require_tracing(tap)
    for name, want in EXPECTED.items():
        result, maps, pid = trace_workload(name)
        tap.eq((result.returncode, result.stdout.strip(), result.stderr),
               (0, STDOUT[name], ""), "%s: runs as without pyusdt" % name)
        got = {k: v for k, v in counts_for(maps, pid, workload(name)).items()
               if k[0] not in IGNORED.get(name, ())}
        tap.eq(dict(sorted(got.items())), dict(sorted(want.items())),
               "%s: exact hits per probe and function" % name)
        threads = per_thread(maps, pid, workload(name))
        if name == "threads.py":
            workers = [h for h in threads.values()
                       if h.get("PY_START") == 1001]
            tap.eq(len(workers), 4,
                   "threads.py: 4 threads with 1001 starts each (loop + "
                   "1000 work)")
        check_balance(tap, name, threads)
    tap.done()


main()

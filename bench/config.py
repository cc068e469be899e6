"""What bench/run measures and against which targets, and the arithmetic
its report uses (shared by measure.py and report.py)."""

import os
import re
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
WORKLOADS = ["recursion", "generators", "lines", "exceptions", "mixed"]
# about 10 ms of plain Python per run each
SCALE = {"filtered": 1, "recursion": 2, "generators": 6, "lines": 3, "exceptions": 3,
         "mixed": 4, "blocking": 1}


def probe_names():
    """pyusdt's probes, from the one list of them (PYUSDT_FOR_EACH_PROBE
    in src/pyusdt-probes.h): this process need not import pyusdt."""
    with open(os.path.join(SRC, "src", "pyusdt-probes.h")) as f:
        text = f.read()
    body = text.split("#define PYUSDT_FOR_EACH_PROBE(X)", 1)[1]
    body = body.split("\n\n", 1)[0]
    return tuple(re.findall(r"X\((\w+),", body))


ALL = probe_names()
# CPYTHON: CPython's probes of a call (python:function__entry and
# function__return), against START+RETURN: the same hits, the same cost
CPYTHON = ("python:function__entry", "python:function__return")
SETS = [("PY_START",), ("PY_START", "PY_RETURN"), ALL, CPYTHON]
SET_NAME = {SETS[0]: "PY_START", SETS[1]: "START+RETURN", SETS[2]: "all 9",
            SETS[3]: "CPython's"}
# probe instructions for the bare loop: name, asm, bytes
FORMS = [
    ("nop1", "nop", "90"),
    ("nop5", ".nops 5", "0f 1f 44 00 00"),
    ("nop5-66", ".byte 0x66; .byte 0x0f; .byte 0x1f; .byte 0x40; .byte 0",
     "66 0f 1f 40 00"),
    ("nop6", ".nops 6", "66 0f 1f 44 00 00"),
]
TARGET = {
    "untraced_ratio": 1.01,
    "import_ms": 2.0,
    "rss_kib": 1024,
    "per_hit_vs_bare": 1.2,
    "repr_big_vs_full": 1.10,
    "latency_slack_ms": 20,
    "cpython_vs_own": 1.10,
    "profile_99": 1.02,
    "profile_999": 1.10,
    "offcpu": 1.05,
}
CHECK_MSEC = 100        # pyusdt's default poll interval


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def low(values):
    """The mean of the fastest quarter: noise (other work on the machine)
    only ever adds time, and one lucky process should not decide."""
    v = sorted(values)
    k = max(1, len(v) // 4)
    return sum(v[:k]) / k


def fastest(pairs, mode):
    """A configuration's time: each process's fastest run, then low()."""
    return low(p[mode]["best"] for p in pairs if mode in p)


def met(ok):
    return "met" if ok else "NOT MET"

"""The red zone: a probe site built like libpyusdt (no red zone, pyusdt's
probe instruction) keeps its stack data intact while a tracer is attached
and every hit is counted, whether or not the kernel optimizes the uprobe;
the same code built with a red zone is corrupted when the kernel does
optimize it, which shows that the check can fail (tests/redzone.c)."""

import os
import subprocess

from pyusdttest import (BUILDDIR, TAP, Bpftrace, parse_maps,
                        require_tracing)

CALLS = 100000


def program(name):
    return os.path.join(BUILDDIR, "tests", name)


def run_traced(path):
    """(program's report as a dict, hits bpftrace counted)."""
    bt = Bpftrace("usdt:%s:pyusdt_redzone:site { @hits = count(); }" % path)
    bt.start()
    try:
        proc = subprocess.run([path, str(CALLS)], capture_output=True,
                              text=True, timeout=300)
    finally:
        text = bt.stop()
    report = dict(line.split(" ", 1) for line in proc.stdout.splitlines()
                  if " " in line)
    hits = parse_maps(text).get("hits", {}).get((), 0)
    return proc.returncode, report, hits


def main():
    tap = TAP()
    safe, unsafe = program("redzone-safe"), program("redzone-unsafe")
    for p in (safe, unsafe):
        if not os.access(p, os.X_OK):
            tap.skip_all("%s not built" % p)
    out = subprocess.run([safe, "1"], capture_output=True, text=True).stdout
    if "site none" in out:
        tap.skip_all("no red zone and no optimized uprobes on this machine")
    require_tracing(tap)

    status, report, hits = run_traced(safe)
    optimized = report.get("optimized")
    tap.eq((status, report.get("calls"), hits), (0, str(CALLS), CALLS),
           "pyusdt's build (%s): every hit counted, uprobe optimized: %s"
           % (report.get("site"), optimized))
    tap.eq(report.get("corrupted"), "0",
           "pyusdt's build: stack data intact across %d traced hits" % CALLS)

    status, report, hits = run_traced(unsafe)
    if report.get("optimized") != "yes":
        tap.ok(True, "red-zone build corrupted # SKIP the kernel does not "
               "optimize uprobes on a 5-byte nop here (%s)"
               % report.get("optimized"))
    else:
        tap.ok(status == 0 and int(report.get("corrupted", 0)) > 0,
               "red-zone build: corruption detected in %s of %d calls "
               "(the check can fail)" % (report.get("corrupted"), CALLS),
               report)
    tap.done()


main()

"""Every bpftrace script of scripts/ loads on this machine's kernel, and
each of its BPF programs stays far below the verifier's limit.

The verifier's verdict depends on the kernel, the bpftrace version and
the machine: a script that loads on one machine may be refused on
another.  Each script is attached by PID to a live pyusdt program; the
kernel's own count of the instructions it verified for each program
(verified_insns, from /proc/PID/fdinfo of bpftrace's program fds) must
stay under a quarter of the 1,000,000-instruction limit.  The counts are
printed, so that logs of two machines can be compared."""

import os
import re
import subprocess
import sys

from pyusdttest import (BUILDDIR, PYTHON, TAP, Bpftrace, bpf_programs,
                        python_env, require_tracing)

SCRIPTS = os.path.join(BUILDDIR, "tests", "scripts")
LIMIT = 1000000
MARGIN = LIMIT // 4
# Arguments a script needs to start
ARGS = {"latency": ["work"], "slow": ["10"], "top": ["1"]}


def scripts():
    return sorted(f[:-3] for f in os.listdir(SCRIPTS) if f.endswith(".bt"))


def short(program):
    """usdt__proc_..._libpyusdt_so_pyusdt_PY_START_loc0_2: PY_START_loc0_2"""
    return re.sub(r"^usdt_.*_pyusdt_", "", program)


def check(tap, name, pid, bpftrace_version):
    bt = Bpftrace(script=os.path.join(SCRIPTS, name + ".bt"),
                  args=ARGS.get(name, ()), pid=pid, ready="Hit Ctrl-C")
    try:
        bt.start()
    except RuntimeError as e:
        tap.ok(False, "%s loads on %s" % (name, bpftrace_version), e)
        return
    try:
        progs = bpf_programs(bt.proc.pid)
    finally:
        text = bt.stop()
    tap.ok(progs, "%s loads on %s: %d programs" % (name, bpftrace_version,
                                                   len(progs)), text)
    for p in sorted(progs, key=lambda p: -p["verified_insns"]):
        print("#   %8d  %s" % (p["verified_insns"], short(p["name"])))
    worst = max(progs, key=lambda p: p["verified_insns"], default=None)
    if worst is not None:
        tap.ok(worst["verified_insns"] <= MARGIN,
               "%s: largest program %s verified in %d instructions "
               "(at most %d, a quarter of the limit)"
               % (name, short(worst["name"]), worst["verified_insns"], MARGIN))


def main():
    tap = TAP()
    require_tracing(tap)
    version = subprocess.run([os.environ.get("BPFTRACE") or "bpftrace",
                              "--version"], capture_output=True,
                             text=True).stdout.strip()
    print("# %s, kernel %s" % (version, os.uname().release))
    sys.stdout.flush()
    # A live program with pyusdt loaded, its probe library mapped
    prog = subprocess.Popen(
        [PYTHON, "-m", "pyusdt", "-c",
         "import sys\n"
         "def work(): pass\n"
         "print('up', flush=True)\n"
         "sys.stdin.readline()\n"],
        env=python_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    try:
        prog.stdout.readline()
        for name in scripts():
            tap.run(check, name, prog.pid, version)
    finally:
        prog.stdin.write("\n")
        prog.stdin.close()
        prog.wait(timeout=60)
    tap.done()


main()

"""bench/run's measurements: build what is measured, run the workloads in
every configuration, interleaved, and keep every figure in .data (written
as JSON by bench/run, read by report.py)."""

import json
import os
import platform
import random
import re
import select
import shlex
import shutil
import subprocess
import sys
import time

from config import (ALL, FORMS, HERE, SCALE, SET_NAME, SETS, SRC,
                    WORKLOADS)

# the bpftrace driver of the tests
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from pyusdttest import Bpftrace, autoload_venv, rss_kib  # noqa: E402


class Lines:
    """Lines from a pipe, with a timeout (select() on a buffered text file
    misses lines already read into its buffer)."""

    def __init__(self, f):
        self.fd = f.fileno()
        self.buf = b""

    def next(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


class Bench:
    def __init__(self, args):
        self.args = args
        self.t0 = time.monotonic()
        self.work = os.path.abspath(args.work)
        self.quick = args.quick
        self.n_untraced = 3 if self.quick else 20
        self.n_other = 2 if self.quick else 5      # cProfile, ... per wl
        self.n_traced = 2 if self.quick else 5
        self.n_all = 2 if self.quick else 3
        self.data = {"untraced": {}, "traced": {}, "bare": {}}
        self.bpftrace = (os.environ.get("BPFTRACE")
                         or shutil.which("bpftrace")
                         or shutil.which("bpftrace", path="/usr/sbin:/sbin"))

    # ------------------------------------------------------------ helpers
    def log(self, msg):
        sys.stderr.write("[%6.1fs] %s\n" % (time.monotonic() - self.t0, msg))
        sys.stderr.flush()

    def die(self, msg):
        sys.stderr.write("bench/run: %s\n" % msg)
        sys.exit(2)

    def sh(self, cmd, cwd=None, log=None):
        out = open(log, "w") if log else subprocess.DEVNULL
        r = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        if log:
            out.close()
        if r.returncode != 0:
            tail = open(log).read()[-3000:] if log else ""
            self.die("failed: %s\n%s" % (" ".join(cmd), tail))

    def preflight(self):
        if os.geteuid() != 0:
            self.die("must run as root (bpftrace)")
        if not self.bpftrace:
            self.die("bpftrace not found")
        if not os.path.isdir("/sys/kernel/tracing/events"):
            self.die("tracefs is not mounted on /sys/kernel/tracing")
        os.makedirs(self.work, exist_ok=True)

    # -------------------------------------------------------------- build
    def make_var(self, name, build=None):
        with open(os.path.join(build or self.build, "Makefile")) as f:
            for line in f:
                m = re.match(r"^%s = ?(.*)$" % re.escape(name), line)
                if m:
                    return m.group(1).strip()
        return ""

    def setup(self):
        if self.args.build:
            self.build = os.path.abspath(self.args.build)
            if not os.path.exists(os.path.join(self.build, "Makefile")):
                self.die("%s is not a configured build directory"
                         % self.build)
            self.log("updating the build in %s" % self.build)
            self.sh(["make", "-j2"], cwd=self.build,
                    log=os.path.join(self.work, "make.log"))
        else:
            self.build = os.path.join(self.work, "build")
            os.makedirs(self.build, exist_ok=True)
            if not os.path.exists(os.path.join(SRC, "configure")):
                self.log("autoreconf -fi")
                self.sh(["autoreconf", "-fi"], cwd=SRC,
                        log=os.path.join(self.work, "autoreconf.log"))
            if not os.path.exists(os.path.join(self.build, "Makefile")):
                self.log("configuring pyusdt in %s" % self.build)
                cmd = [os.path.join(SRC, "configure"), "-q"]
                if self.args.python:
                    cmd.append("PYTHON=" + self.args.python)
                self.sh(cmd, cwd=self.build,
                        log=os.path.join(self.work, "configure.log"))
            self.log("building pyusdt")
            self.sh(["make", "-j2"], cwd=self.build,
                    log=os.path.join(self.work, "make.log"))
        self.python = self.args.python or self.make_var("PYTHON") or "python3"
        ext = self.make_var("PYTHON_EXT_SUFFIX")
        self.lib, self.stage = self.stage_build(self.build, SRC, ext, "stage")
        self.setup_baseline(ext)
        self.nop5_build = "PYUSDT_PROBE_NOP5 1" in open(
            os.path.join(self.build, "config.h")).read()
        # CC may carry options ("gcc -std=gnu23" from autoconf 2.72)
        cc = shlex.split(self.make_var("CC") or "cc")
        cflags = (self.make_var("CFLAGS") or "-O2").split()
        probe_cflags = self.make_var("PROBE_CFLAGS").split()
        self.cc, self.cflags, self.probe_cflags = cc, cflags, probe_cflags
        # pyusdt's probe library built with the other instruction
        other = "nop1" if self.nop5_build else "nop5"
        d = os.path.join(self.work, other)
        os.makedirs(os.path.join(d, "inc"), exist_ok=True)
        with open(os.path.join(d, "inc", "config.h"), "w") as f:
            f.write('#include "%s/config.h"\n' % self.build)
            f.write("#undef PYUSDT_PROBE_NOP5\n" if other == "nop1"
                    else "#define PYUSDT_PROBE_NOP5 1\n")
        self.sh(cc + cflags + probe_cflags + [
            "-fPIC", "-shared", "-I" + os.path.join(d, "inc"),
            "-I" + self.build, "-I" + os.path.join(SRC, "src"),
            os.path.join(SRC, "src", "probes.c"), "-o",
            os.path.join(d, "libpyusdt.so")])
        self.other_form = other
        self.other_lib = os.path.join(d, "libpyusdt.so")
        self.main_form = "nop5" if self.nop5_build else "nop1"
        # the bare loops, one per probe instruction
        self.bare = {}
        for name, asm, _ in FORMS:
            exe = os.path.join(self.work, "bare-" + name)
            self.sh(cc + cflags + probe_cflags + [
                "-DSITE_NOP=" + asm, os.path.join(HERE, "bare.c"), "-o", exe])
            self.bare[name] = exe
        # the red-zone test, as tests/redzone.c is built for make check
        self.redzone = {}
        for name, flags in (("safe", probe_cflags),
                            ("unsafe", ["-DREDZONE_UNSAFE"])):
            exe = os.path.join(self.work, "redzone-" + name)
            self.sh(cc + cflags + flags + [
                "-I" + self.build, os.path.join(SRC, "tests", "redzone.c"),
                "-o", exe])
            self.redzone[name] = exe
        self.data["meta"] = {k: getattr(self, k) for k in (
            "python", "lib", "main_form", "other_form", "other_lib",
            "n_untraced", "n_other", "n_traced", "n_all")}
        # what the report names, taken now: a report is printed from the
        # JSON of a run, anywhere
        self.data["meta"].update(
            kernel=platform.release(),
            python_version=subprocess.run(
                [self.python, "-c",
                 "import sys; print(sys.version.split()[0])"],
                capture_output=True, text=True).stdout.strip(),
            bpftrace_version=subprocess.run(
                [self.bpftrace, "--version"], capture_output=True,
                text=True).stdout.strip(),
            stack_loop=self.make_var("STACK_LOOP").replace("$$", "$"),
            baseline=self.base_desc if self.base_lib else None)
        self.log("python %s, library %s (%s)" % (self.python, self.lib,
                                                 self.main_form))

    def stage_build(self, build, src, ext, name):
        """(probe library, staged package directory) of a built build
        directory: the package staged in WORK/name, since an extension
        cannot be imported from .libs."""
        lib = os.path.join(build, "src", ".libs", "libpyusdt.so")
        extension = os.path.join(build, "src", ".libs", "_pyusdt" + ext)
        for p in (lib, extension):
            if not os.path.exists(p):
                self.die("%s not built" % p)
        stage = os.path.join(self.work, name, "pyusdt")
        shutil.rmtree(os.path.dirname(stage), ignore_errors=True)
        os.makedirs(stage)
        for f in os.listdir(os.path.join(src, "python", "pyusdt")):
            if f.endswith(".py"):
                os.symlink(os.path.join(src, "python", "pyusdt", f),
                           os.path.join(stage, f))
        os.symlink(extension, os.path.join(stage, os.path.basename(extension)))
        return lib, os.path.dirname(stage)

    def setup_baseline(self, ext):
        """--baseline BUILD: another build (an earlier commit, say), staged
        as this one is, measured next to it in the same run."""
        self.base_lib = self.base_stage = None
        if not self.args.baseline:
            return
        base = os.path.abspath(self.args.baseline)
        src = self.make_var("abs_srcdir", base)
        self.base_lib, self.base_stage = self.stage_build(
            base, src, ext, "stage-baseline")
        self.base_desc = subprocess.run(
            ["git", "-C", src, "log", "-1", "--format=%h %s"],
            capture_output=True, text=True).stdout.strip() or src
        self.log("baseline: %s (%s)" % (base, self.base_desc))

    def run_baseline(self, wl, runs):
        return self.run_wl(wl, "pyusdt", runs, lib=self.base_lib,
                           stage=self.base_stage)

    # ---------------------------------------------------------- processes
    def env(self, lib=None, deterministic=False, stage=None):
        """The environment of a measured process.  Each timed process gets
        its own memory layout (hash seed, heap and stack offsets), as
        pyperf does: a layout that happens to suit one configuration then
        averages out instead of showing up as a few percent either way."""
        e = dict(os.environ)
        for k in ("PYTHONDONTWRITEBYTECODE", "PYUSDT_CHECK_MSEC",
                  "PYUSDT_VERBOSE", "LD_LIBRARY_PATH"):
            e.pop(k, None)
        e["PYTHONPATH"] = stage or self.stage
        e["PYTHONPYCACHEPREFIX"] = os.path.join(self.work, "pycache")
        if deterministic:
            e["PYTHONHASHSEED"] = "0"
            e["PYUSDT_BENCH_COLLECT"] = "0"
        else:
            e["PYTHONHASHSEED"] = str(random.randrange(1, 2 ** 31))
            e["PYUSDT_BENCH_PAD"] = str(random.randrange(20000))
            e["PYUSDT_BENCH_ENVPAD"] = "x" * random.randrange(4096)
        if lib is not None:
            e["LD_LIBRARY_PATH"] = os.path.dirname(lib)
        return e

    def run_json(self, cmd, env=None, timeout=900, tolerate=False):
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env=env or self.env())
        out, err = p.communicate(timeout=timeout)
        if p.returncode != 0 and tolerate:
            return p.pid, None
        if p.returncode != 0:
            self.die("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd),
                                              err[-3000:]))
        return p.pid, json.loads(out.strip().splitlines()[-1])

    def run_wl(self, wl, mode, runs, lib=None, scale=None, stage=None):
        cmd = [self.python, os.path.join(HERE, "workloads.py"), wl, mode,
               str(runs), str(scale or SCALE[wl])]
        if mode.startswith("austin:"):
            # austin starts the program and samples it from outside
            cmd = [self.austin, "-i", mode[7:], "-o", os.devnull] + \
                cmd[:3] + ["plain"] + cmd[4:]
        # austin gives up on a process it cannot read in time ("not a
        # Python process"): that run is left out
        pid, r = self.run_json(cmd, env=self.env(lib, stage=stage),
                               tolerate=mode.startswith("austin:"))
        if r is None:
            return None
        r["pid"] = pid
        r["best"] = min(r["times"]) if r["times"] else None
        if lib is not None and r.get("library") not in (None, lib):
            self.die("LD_LIBRARY_PATH did not select %s (got %s)"
                     % (lib, r.get("library")))
        return r

    def run_bare(self, form, n=300000):
        pid, r = self.run_json([self.bare[form], str(n), "3"])
        r["pid"] = pid
        return r

    def bt_start(self, program):
        """bpftrace running program system-wide (tests/lib's driver)."""
        return Bpftrace(program).start(timeout=300)

    @staticmethod
    def bt_stop(bt):
        """{(map, key): count} of what bpftrace printed at exit."""
        counts = {}
        for line in bt.stop(timeout=120).splitlines():
            m = re.match(r"^@(\w+)\[(\d+)\]: (\d+)$", line.strip())
            if m:
                counts[(m.group(1), int(m.group(2)))] = int(m.group(3))
        return counts

    @staticmethod
    def probe(lib, name, mapname):
        """Count name's hits per process: a probe of pyusdt's, or
        python:NAME, one of CPython's."""
        provider, _, name = name.rpartition(":")
        return "usdt:%s:%s:%s { @%s[pid] = count(); }" % (
            lib, provider or "pyusdt", name, mapname)

    # ---------------------------------------------------- phase: untraced
    def phase_untraced(self):
        self.log("untraced: plain / pyusdt imported / cProfile / "
                 "Python sys.monitoring, %d interleaved repetitions"
                 % self.n_untraced)
        U = self.data["untraced"] = {wl: {"pairs": []} for wl in WORKLOADS}
        bare0 = self.data["bare"]["untraced"] = {f: [] for f, _, _ in FORMS}
        for rep in range(self.n_untraced):
            for wl in WORKLOADS:
                pair = {}
                # ctypes: a control, another C extension imported (what
                # loading any module does to the memory layout)
                order = ["plain", "pyusdt", "ctypes"] if rep % 2 == 0 \
                    else ["ctypes", "pyusdt", "plain"]
                for mode in order:
                    pair[mode] = self.run_wl(wl, mode, 5)
                if self.base_lib:
                    pair["baseline"] = self.run_baseline(wl, 5)
                if rep < self.n_other:
                    for mode in ("cprofile", "pymon"):
                        pair[mode] = self.run_wl(wl, mode, 3)
                    # the traced configurations without the uprobes: the
                    # semaphores raised by hand, the probe sites as nops
                    for probes in SETS:
                        pair["fakesem " + SET_NAME[probes]] = self.run_wl(
                            wl, "fakesem:" + ",".join(probes),
                            2 if probes == ALL else 3)
                U[wl]["pairs"].append(pair)
            for form, _, _ in FORMS:
                bare0[form].append(self.run_bare(form, 2000000)["ns_per_call"])
        # bounded repr, untraced baseline (pyusdt imported)
        self.data["repr_untraced"] = [
            self.run_json([self.python, os.path.join(HERE, "workloads.py"),
                           "repr", "pyusdt", "20000"])[1]["ns_per_call"]
            for _ in range(2 if self.quick else 4)]

    # ----------------------------------------------------- phase: traced
    def phase_traced(self, probes):
        name = SET_NAME[probes]
        first, everything = probes == SETS[0], probes == ALL
        reps = self.n_all if everything else self.n_traced
        runs = 2 if everything else 3
        prog = [self.probe(self.lib, p, "h") for p in probes]
        other_wls = []
        if first or everything:
            # pyusdt with the other probe instruction, on recursion
            prog += [self.probe(self.other_lib, p, "h") for p in probes]
            other_wls = ["recursion"]
        baseline = self.base_lib and probes == SETS[1]
        if baseline:
            prog += [self.probe(self.base_lib, p, "h") for p in probes]
        prog += ["usdt:%s:pyusdt_bare:hit { @h[pid] = count(); }" % exe
                 for exe in self.bare.values()]
        if first:
            prog += ["usdt:%s:pyusdt_redzone:site { @h[pid] = count(); }"
                     % exe for exe in self.redzone.values()]
        self.log("traced %s: attaching bpftrace (%d probes)"
                 % (name, len(prog)))
        bt = self.bt_start("\n".join(prog))
        T = {wl: {"pairs": [], "other": []} for wl in WORKLOADS}
        bare = {f: [] for f, _, _ in FORMS}
        extra = {}
        try:
            self.log("traced %s: start-up hits, then %d interleaved "
                     "repetitions" % (name, reps))
            for wl in WORKLOADS:
                T[wl]["calib"] = self.run_wl(wl, "pyusdt", 0)
            for wl in other_wls:
                T[wl]["calib_other"] = self.run_wl(wl, "pyusdt", 0,
                                                   lib=self.other_lib)
            if baseline:
                for wl in WORKLOADS:
                    T[wl]["calib_baseline"] = self.run_baseline(wl, 0)
            for rep in range(reps):
                for wl in WORKLOADS:
                    order = ["plain", "pyusdt"] if rep % 2 == 0 \
                        else ["pyusdt", "plain"]
                    pair = {m: self.run_wl(wl, m, runs) for m in order}
                    if baseline:
                        pair["baseline"] = self.run_baseline(wl, runs)
                    # the floor, measured right next to it
                    bare[self.main_form].append(self.run_bare(self.main_form))
                    if wl in other_wls:
                        pair["other"] = self.run_wl(wl, "pyusdt", runs,
                                                    lib=self.other_lib)
                        bare[self.other_form].append(
                            self.run_bare(self.other_form))
                    T[wl]["pairs"].append(pair)
                for form, _, _ in FORMS:
                    bare[form].append(self.run_bare(form))
            if probes == SETS[1]:
                self.log("traced %s: repr cost of huge return values" % name)
                extra["repr"] = [self.run_json(
                    [self.python, os.path.join(HERE, "workloads.py"),
                     "repr", "pyusdt", "20000"])[1]
                    for _ in range(2 if self.quick else 4)]
            if first:
                self.log("traced %s: red-zone test, both builds" % name)
                for kind, exe in self.redzone.items():
                    p = subprocess.run([exe, "100000"], capture_output=True,
                                       text=True, timeout=300)
                    rep_ = dict(line.split(" ", 1)
                                for line in p.stdout.splitlines()
                                if " " in line)
                    extra.setdefault("redzone", {})[kind] = rep_
        finally:
            counts = self.bt_stop(bt)
        # hits per process
        for wl in WORKLOADS:
            for pair in T[wl]["pairs"]:
                for r in pair.values():
                    r["hits"] = counts.get(("h", r["pid"]), 0)
            calib = T[wl]["calib"]
            calib["hits"] = counts.get(("h", calib["pid"]), 0)
            for key in ("calib_other", "calib_baseline"):
                if key in T[wl]:
                    c = T[wl][key]
                    c["hits"] = counts.get(("h", c["pid"]), 0)
        for form in bare:
            for r in bare[form]:
                r["hits"] = counts.get(("h", r["pid"]), 0)
        self.data["traced"][name] = {"T": T, "bare": bare, "extra": extra,
                                     "runs": runs, "probes": probes}

    # ----------------------------------------------------- phase: stacks
    def bt_script(self, script, args):
        """bpftrace running a script of the build tree, system-wide."""
        return Bpftrace(script=script, args=args,
                        ready="Hit Ctrl-C").start(timeout=300)

    def prog_stats(self, pid, name):
        """(runs, ns per run) of bpftrace pid's program whose name starts
        with name, from the kernel's own counters (bpf_stats_enabled)."""
        runs = ns = 0
        seen = set()
        for fd in os.listdir("/proc/%d/fdinfo" % pid):
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    info = dict(line.split(":", 1) for line in f
                                if ":" in line)
            except OSError:
                continue
            # (bpftrace 0.27 holds several descriptors of a program)
            if "prog_id" not in info or info["prog_id"] in seen:
                continue
            seen.add(info["prog_id"])
            show = subprocess.run(
                ["bpftool", "prog", "show", "id", info["prog_id"].strip()],
                capture_output=True, text=True).stdout
            m = re.search(r"name (\S+).*?run_time_ns (\d+) run_cnt (\d+)",
                          show, re.S)
            if m and re.match(r"%s_\d+$" % re.escape(name), m.group(1)):
                ns += int(m.group(2))
                runs += int(m.group(3))
        return runs, (ns / runs if runs else None)

    def phase_stacks(self):
        """profile.bt at 99 and 999 Hz on every workload, offcpu.bt on a
        blocking one, each attached system-wide (it reads the stacks of
        the pyusdt processes only), against plain Python interleaved;
        austin sampling plain Python from outside, for comparison."""
        scripts = os.path.join(self.build, "tests", "scripts")
        reps = 2 if self.quick else 5
        S = self.data["stacks"] = {}
        stats = "/proc/sys/kernel/bpf_stats_enabled"
        with open(stats) as f:
            was = f.read().strip()
        runs = [("profile 99 Hz", "profile.bt", ["99"], WORKLOADS,
                 "profile_hz_99"),
                ("profile 999 Hz", "profile.bt", ["999"], WORKLOADS,
                 "profile_hz_999"),
                ("offcpu", "offcpu.bt", [], ["blocking"],
                 "tracepoint_sched_sched_switch")]
        try:
            with open(stats, "w") as f:
                f.write("1")
            for name, script, args, wls, prog in runs:
                self.log("stacks: %s attached, %d interleaved repetitions"
                         % (name, reps))
                bt = self.bt_script(os.path.join(scripts, script), args)
                bt_pid = bt.proc.pid
                pairs = {wl: [] for wl in wls}
                try:
                    for rep in range(reps):
                        for wl in wls:
                            order = ["plain", "pyusdt"] if rep % 2 == 0 \
                                else ["pyusdt", "plain"]
                            pairs[wl].append({m: self.run_wl(wl, m, 10)
                                              for m in order})
                    n, ns = self.prog_stats(bt_pid, prog)
                finally:
                    bt.stop(timeout=300)
                S[name] = {"pairs": pairs, "runs": n, "ns_per_run": ns}
        finally:
            with open(stats, "w") as f:
                f.write(was)
        self.austin = shutil.which("austin")
        if self.austin:
            for interval in ("10ms", "1ms"):
                self.log("stacks: austin every %s, %d interleaved "
                         "repetitions" % (interval, reps))
                pairs = {wl: [] for wl in WORKLOADS}
                for rep in range(reps):
                    for wl in WORKLOADS:
                        mode = "austin:" + interval
                        order = ["plain", mode] if rep % 2 == 0 \
                            else [mode, "plain"]
                        pair = {m: self.run_wl(wl, m, 10) for m in order}
                        pairs[wl].append({m: r for m, r in pair.items()
                                          if r is not None})
                S["austin " + interval] = {"pairs": pairs}

    # ----------------------------------------------------- phase: filter
    def phase_filter(self):
        """The filtered workload with PY_START and PY_RETURN counted per
        function by bpftrace: pyusdt imported with PYUSDT_FILTER=wanted,
        and without a filter, each against plain Python, interleaved."""
        reps = 2 if self.quick else 5
        runs = 3
        prog = "\n".join(
            'usdt:%s:pyusdt:%s { @h[pid, str(arg0)] = count(); }'
            % (self.lib, p) for p in ("PY_START", "PY_RETURN"))
        self.log("filter: attaching bpftrace (PY_START, PY_RETURN), %d "
                 "interleaved repetitions" % reps)
        bt = self.bt_start(prog)
        F = self.data["filter"] = {"pairs": [], "runs": runs}
        pids = []
        try:
            for rep in range(reps):
                order = ["plain", "filtered", "unfiltered"]
                if rep % 2:
                    order.reverse()
                pair = {}
                for m in order:
                    stage = None
                    env = self.env()
                    if m == "filtered":
                        env["PYUSDT_FILTER"] = "wanted"
                    cmd = [self.python, os.path.join(HERE, "workloads.py"),
                           "filtered", "plain" if m == "plain" else
                           "pyusdt", str(runs), "1"]
                    pid, r = self.run_json(cmd, env=env)
                    r["pid"] = pid
                    pair[m] = r
                    if m == "filtered":
                        pids.append(pid)
                F["pairs"].append(pair)
        finally:
            text = bt.stop(timeout=120)
        hits = {}
        for line in text.splitlines():
            m = re.match(r"@h\[(\d+), (\w+)\]: (\d+)$", line)
            if m and int(m.group(1)) in pids:
                hits[m.group(2)] = hits.get(m.group(2), 0) + int(m.group(3))
        F["hits"] = hits
        F["processes"] = len(pids)

    # -------------------------------------------------------- phase: pcp
    def phase_pcp(self):
        """The scripts for PCP's bpftrace PMDA, each run system-wide as the
        PMDA runs it: the call-heavy workloads traced, against plain
        Python, interleaved."""
        reps = 2 if self.quick else 5
        P = self.data["pcp"] = {}
        for name in ("pyusdt_calls", "pyusdt_time"):
            script = os.path.join(self.build, "tests", "scripts",
                                  name + ".bt")
            self.log("pcp: %s, %d interleaved repetitions" % (name, reps))
            bt = Bpftrace(script=script, ready="Hit Ctrl-C").start(
                timeout=300)
            pairs = {wl: [] for wl in ("recursion", "mixed")}
            try:
                for rep in range(reps):
                    for wl in pairs:
                        order = ["plain", "pyusdt"] if rep % 2 == 0 \
                            else ["pyusdt", "plain"]
                        pairs[wl].append({m: self.run_wl(wl, m, 3)
                                          for m in order})
            finally:
                bt.stop(timeout=120)
            P[name] = pairs

    # --------------------------------------------------- phase: autoload
    def phase_autoload(self):
        """What python3-pyusdt-autoload costs a process: at start-up
        (python -c pass) and at rest (wake-ups, CPU time and RSS of a
        sleeping process), with the .pth file in the site directory of a
        virtual environment, against the same environment without it and
        with PYUSDT_AUTOLOAD=0, interleaved."""
        reps = 30 if self.quick else 300
        root = os.path.join(self.work, "autoload")
        shutil.rmtree(root, ignore_errors=True)
        py = {"plain": autoload_venv(os.path.join(root, "plain"),
                                     self.python, False, SRC),
              "autoload": autoload_venv(os.path.join(root, "autoload"),
                                        self.python, True, SRC)}
        A = self.data["autoload"] = {"start": [], "rest": []}
        self.log("autoload: python -c pass, %d interleaved repetitions"
                 % reps)
        modes = ["plain", "autoload", "autoload, PYUSDT_AUTOLOAD=0"]
        for rep in range(reps + 3):
            env = self.env()
            order = modes if rep % 2 == 0 else modes[::-1]
            times = {}
            for m in order:
                e = dict(env)
                if m.endswith("=0"):
                    e["PYUSDT_AUTOLOAD"] = "0"
                t0 = time.perf_counter()
                subprocess.run([py[m.split(",")[0]], "-c", "pass"], env=e,
                               check=True)
                times[m] = time.perf_counter() - t0
            if rep >= 3:    # the first ones fill the caches
                A["start"].append(times)
        seconds = 2 if self.quick else 5
        self.log("autoload: sleeping processes, %d s each" % seconds)
        for rep in range(3):
            for m in ("plain", "autoload"):
                p = subprocess.Popen([py[m], "-c",
                                      "import time; time.sleep(600)"],
                                     env=self.env())
                try:
                    time.sleep(1)
                    a = self.rest_counters(p.pid)
                    time.sleep(seconds)
                    b = self.rest_counters(p.pid)
                finally:
                    p.kill()
                    p.wait()
                A["rest"].append({
                    "mode": m, "seconds": seconds, "threads": b["threads"],
                    "switches": b["switches"] - a["switches"],
                    "cpu_ns": b["cpu_ns"] - a["cpu_ns"],
                    "rss_kb": b["rss_kb"]})

    @staticmethod
    def rest_counters(pid):
        """Context switches and CPU time (schedstat, ns) summed over a
        process's threads, and its RSS."""
        out = {"switches": 0, "cpu_ns": 0, "threads": 0}
        task = "/proc/%d/task" % pid
        for tid in os.listdir(task):
            out["threads"] += 1
            with open(os.path.join(task, tid, "status")) as f:
                for line in f:
                    # voluntary_ and nonvoluntary_ctxt_switches
                    if "ctxt_switches:" in line:
                        out["switches"] += int(line.split()[1])
            with open(os.path.join(task, tid, "schedstat")) as f:
                out["cpu_ns"] += int(f.read().split()[0])
        out["rss_kb"] = rss_kib(pid)
        return out

    # ---------------------------------------------------- phase: latency
    def phase_latency(self):
        cycles = 1 if self.quick else 2
        res = []
        for variant in ("latency", "latency-busy"):
            self.log("enable/disable latency (%s): %d attach/detach cycles"
                     % (variant, cycles))
            p = subprocess.Popen(
                [self.python, os.path.join(HERE, "workloads.py"), variant,
                 "-"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env=self.env())
            reader = Lines(p.stdout)
            lines = []

            def read_until(pred, timeout):
                deadline = time.monotonic() + timeout
                while True:
                    line = reader.next(max(0, deadline - time.monotonic()))
                    if line is None:
                        return None
                    d = json.loads(line)
                    lines.append(d)
                    if pred(d):
                        return d

            try:
                read_until(lambda d: d.get("ready"), 60)
                for _ in range(cycles):
                    lines.clear()
                    bt = self.bt_start(self.probe(self.lib, "PY_START", "h"))
                    on = read_until(lambda d: d.get("enabled"), 10)
                    att = next((d for d in lines if d.get("attached")), None)
                    self.bt_stop(bt)
                    lines.clear()
                    off = read_until(lambda d: "enabled" in d
                                     and not d["enabled"], 10)
                    det = next((d for d in lines if "attached" in d
                                and not d["attached"]), None)
                    res.append({
                        "variant": variant,
                        "on_ms": (on["t"] - att["t"]) * 1e3
                        if on and att else None,
                        "off_ms": (off["t"] - det["t"]) * 1e3
                        if off and det else None})
            finally:
                p.kill()
                p.communicate()
        self.data["latency"] = res

    # --------------------------------------------------- phase: callgrind
    @staticmethod
    def parse_callgrind(path):
        """{callback probe: (calls, inclusive Ir)} and total Ir."""
        names, incl, calls = {}, {}, {}
        cfn, want_cost, count, total = None, False, 0, 0

        def name_of(v):
            m = re.match(r"\((\d+)\)(?: (.*))?$", v)
            if not m:
                return v
            if m.group(2) is not None:
                names[m.group(1)] = m.group(2)
            return names.get(m.group(1), v)

        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if want_cost:
                    parts = line.split()
                    if len(parts) >= 2:
                        incl[cfn] = incl.get(cfn, 0) + int(parts[1])
                        calls[cfn] = calls.get(cfn, 0) + count
                    want_cost = False
                elif line.startswith("cfn="):
                    cfn = name_of(line[4:])
                elif line.startswith("fn="):
                    name_of(line[3:])
                elif line.startswith("calls="):
                    count = int(line[6:].split()[0])
                    want_cost = True
                elif line.startswith("summary:") or line.startswith("totals:"):
                    total = int(line.split()[1])
        out = {}
        for fn, n in calls.items():
            m = re.match(r"^cb_([A-Za-z_]+)$", fn or "")
            if m and m.group(1).upper() in ALL:
                p = m.group(1).upper()
                c, i = out.get(p, (0, 0))
                out[p] = (c + n, i + incl[fn])
        return out, total

    def phase_callgrind(self):
        valgrind = shutil.which("valgrind")
        if not valgrind or self.args.no_callgrind:
            self.data["callgrind"] = None
            self.log("callgrind: skipped (%s)" % ("--no-callgrind"
                     if self.args.no_callgrind else "no valgrind"))
            return
        self.log("callgrind: pyusdt's instructions per event, all probes "
                 "on, no uprobe (semaphores raised by hand)")
        d = os.path.join(self.work, "callgrind")
        os.makedirs(d, exist_ok=True)
        res = {"per_workload": {}}

        def cg(wl, mode, runs):
            tag = mode if ":" not in mode else "fakesem-" + (
                "all" if mode.count(",") else mode.split(":")[1])
            out = os.path.join(d, "%s-%s-%d.out" % (wl, tag, runs))
            subprocess.run([valgrind, "--tool=callgrind",
                            "--callgrind-out-file=" + out, self.python,
                            os.path.join(HERE, "workloads.py"), wl, mode,
                            str(runs), "1"],
                           env=self.env(deterministic=True),
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            return self.parse_callgrind(out)

        fake = "fakesem:" + ",".join(ALL)
        # instruction counts do not care about other load: two at a time
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(2)
        jobs = {(wl, m, runs): pool.submit(cg, wl, m, runs)
                for wl in WORKLOADS for m in ("plain", "pyusdt", fake)
                for runs in (1, 2)}
        # PY_START alone on the line-heavy workload: no LINE work at all
        for runs in (1, 2):
            jobs[("lines", "fakesem:PY_START", runs)] = pool.submit(
                cg, "lines", "fakesem:PY_START", runs)
        for wl in WORKLOADS:
            # one timed run against two: the difference is exactly one run
            # (start-up, import and warm-up cancel out)
            r = {m: [jobs[(wl, m, runs)].result() for runs in (1, 2)]
                 for m in ("plain", "pyusdt", fake)}
            one = {m: r[m][1][1] - r[m][0][1] for m in r}
            (cb1, _), (cb2, _) = r[fake]
            per_probe = {}
            for p in ALL:
                c = cb2.get(p, (0, 0))[0] - cb1.get(p, (0, 0))[0]
                i = cb2.get(p, (0, 0))[1] - cb1.get(p, (0, 0))[1]
                if c > 0:
                    per_probe[p] = (c, i)
            res["per_workload"][wl] = {
                "per_probe": per_probe,
                "events": sum(c for c, _ in per_probe.values()),
                "own": sum(i for _, i in per_probe.values()),
                "plain_run": one["plain"], "imported_run": one["pyusdt"],
                "traced_run": one[fake]}
        r1, r2 = (jobs[("lines", "fakesem:PY_START", n)].result()
                  for n in (1, 2))
        res["lines_py_start_ratio"] = (
            (r2[1] - r1[1]) / res["per_workload"]["lines"]["plain_run"])
        pool.shutdown()
        self.data["callgrind"] = res

    # ------------------------------------------------------------ report

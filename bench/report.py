"""bench/run's report: the tables and the targets, from the figures of one
run (read back from its JSON)."""

from config import (ALL, CHECK_MSEC, FORMS, SET_NAME, SETS, TARGET,
                    WORKLOADS, fastest, low, median, met)


class Report:
    """The report of one run's figures (Bench.data, as saved)."""

    def __init__(self, data):
        self.data = data
        for k, v in data["meta"].items():
            setattr(self, k, v)

    def report_filter(self):
        """What a filter saves: one function traced among many."""
        F = self.data.get("filter")
        if not F:
            return [], []
        lines, results = [], []
        w = lines.append

        def best(mode):
            return low([min(p[mode]["times"]) for p in F["pairs"]])

        plain = best("plain")
        filt, unfilt = best("filtered") / plain, best("unfiltered") / plain
        # a run is the warm-up and F["runs"] timed runs; wanted() is
        # called 100 times in each
        want = 100 * (F["runs"] + 1) * F["processes"]
        got = F["hits"]
        w("5b. Filter: wanted() 100 times among 300,000 calls of unwanted(), "
          "PY_START and")
        w("   PY_RETURN counted per function by bpftrace; CPU time against "
          "plain Python")
        w("plain %.1f ms; PYUSDT_FILTER=wanted %.3f; no filter %.3f"
          % (plain / 1e6, filt, unfilt))
        w("hits in the filtered processes: wanted %d (expected %d: 2 "
          "probes x %d), unwanted %d"
          % (got.get("wanted", 0), 2 * want, want, got.get("unwanted", 0)))
        results.append(("filtered cost, one function of two traced",
                        "%.3f" % filt, "<= 1.05", filt <= 1.05))
        results.append(("filtered counts exact (wanted, unwanted)",
                        "%d, %d" % (got.get("wanted", 0),
                                    got.get("unwanted", 0)),
                        "%d, 0" % (2 * want),
                        got.get("wanted", 0) == 2 * want
                        and got.get("unwanted", 0) == 0))
        return lines, results

    def report_pcp(self):
        """What the PCP scripts cost the programs they count."""
        P = self.data.get("pcp")
        if not P:
            return [], []
        lines = []
        w = lines.append
        w("5d. PCP scripts, run system-wide as pmdabpftrace runs them: "
          "CPU time against plain Python")
        w("%-14s" % "" + "".join("%12s" % wl for wl in P["pyusdt_calls"]))
        for name, pairs in P.items():
            w("%-14s" % name + "".join(
                "%12.2f" % median([p["pyusdt"]["best"] / p["plain"]["best"]
                                   for p in pairs[wl]])
                for wl in pairs))
        return lines, []

    def report_autoload(self):
        """What python3-pyusdt-autoload costs a process."""
        A = self.data.get("autoload")
        if not A:
            return [], []
        lines, results = [], []
        w = lines.append
        start = A["start"]

        def ms(mode):
            return median([t[mode] for t in start]) * 1e3

        def added(mode):
            return median([t[mode] - t["plain"] for t in start]) * 1e3

        auto, off = added("autoload"), added("autoload, PYUSDT_AUTOLOAD=0")
        w("5c. Autoload (pyusdt-autoload.pth in the site directory): "
          "python -c pass, %d interleaved runs" % len(start))
        w("plain %.2f ms; with autoload %.2f ms (+%.2f ms, median of the "
          "differences); PYUSDT_AUTOLOAD=0 %.2f ms (%+.2f ms)"
          % (ms("plain"), ms("autoload"), auto,
             ms("autoload, PYUSDT_AUTOLOAD=0"), off))
        for mode in ("plain", "autoload"):
            rest = [r for r in A["rest"] if r["mode"] == mode]
            wake = median([r["switches"] / r["seconds"] for r in rest])
            cpu = median([r["cpu_ns"] / r["seconds"] / 1e3 for r in rest])
            w("at rest, %-8s: %d threads, %.1f wake-ups/s, %.1f us CPU/s, "
              "RSS %d KiB" % (mode, rest[0]["threads"], wake, cpu,
                              median([r["rss_kb"] for r in rest])))
        results.append(("autoload: start-up cost (python -c pass)",
                        "+%.2f ms" % auto, "<= +2 ms", auto <= 2.0))
        return lines, results

    def report_stacks(self):
        """Section 6: what reading Python stacks costs."""
        S = self.data.get("stacks")
        if not S:
            return [], []
        lines, results = [], []
        w = lines.append

        def wall(pairs, mode):
            v = [min(p[mode]["walls"]) for p in pairs if mode in p]
            return low(v) if v else None

        def ratio(pairs, mode):
            t = wall(pairs, mode)
            return t / wall(pairs, "plain") if t else float("nan")

        w("5. Python stacks: wall-time ratio to plain Python (the BPF "
          "program runs in interrupt")
        w("   context, which the thread's CPU time may leave out); profile "
          "and offcpu attached")
        w("   system-wide, pyusdt imported; austin samples plain Python from "
          "outside")
        configs = [c for c in ("profile 99 Hz", "profile 999 Hz",
                               "austin 10ms", "austin 1ms") if c in S]
        hdr = "%-11s %9s" % ("workload", "plain ms") + "".join(
            " %15s" % c for c in configs)
        w(hdr)
        w("-" * len(hdr))
        worst = {}
        for wl in WORKLOADS:
            P = S["profile 99 Hz"]["pairs"][wl]
            row = "%-11s %9.2f" % (wl, wall(P, "plain") / 1e6)
            for c in configs:
                mode = "pyusdt" if c.startswith("profile") else \
                    "austin:" + c.split()[1]
                r = ratio(S[c]["pairs"][wl], mode)
                worst[c] = max(worst.get(c, (0, None)), (r, wl))
                row += " %15.3f" % r
            w(row)
        off = S["offcpu"]
        off_r = ratio(off["pairs"]["blocking"], "pyusdt")
        w("offcpu.bt on the blocking workload (%.2f ms plain): %.3f"
          % (wall(off["pairs"]["blocking"], "plain") / 1e6, off_r))
        for c in ("profile 99 Hz", "profile 999 Hz", "offcpu"):
            if S[c]["ns_per_run"] is not None:
                w("%-15s BPF program: %d runs, %.0f ns per run "
                  "(run_time_ns / run_cnt; the runs on other CPUs stop at "
                  "the predicate)" % (c, S[c]["runs"], S[c]["ns_per_run"]))
        w("stack loop: %s (configure --with-stack-loops)"
          % self.stack_loop)
        if "austin 10ms" not in S:
            w("austin: not installed (Debian 13 has it; testing does not)")
        w("")
        results.append(("profile.bt 99 Hz, worst workload",
                        "%.3f (%s)" % worst["profile 99 Hz"],
                        "<= %.2f" % TARGET["profile_99"],
                        worst["profile 99 Hz"][0] <= TARGET["profile_99"]))
        results.append(("profile.bt 999 Hz, worst workload",
                        "%.3f (%s)" % worst["profile 999 Hz"],
                        "<= %.2f" % TARGET["profile_999"],
                        worst["profile 999 Hz"][0] <= TARGET["profile_999"]))
        results.append(("offcpu.bt, blocking workload", "%.3f" % off_r,
                        "<= %.2f" % TARGET["offcpu"],
                        off_r <= TARGET["offcpu"]))
        return lines, results

    def report(self):
        D = self.data
        U = D["untraced"]
        lines = []
        w = lines.append
        w("pyusdt benchmark: Python %s, kernel %s, %s" % (
            self.python_version, self.kernel, self.bpftrace_version))
        w("probe library %s (probe instruction: %s)" % (self.lib,
                                                        self.main_form))
        w("%d untraced (%d for cProfile, py monitor, no-uprobe), %d traced "
          "(%d with all probes) interleaved repetitions;" % (
              self.n_untraced, self.n_other, self.n_traced, self.n_all))
        w("times are CPU time of the running thread (the uprobes' kernel "
          "work included); a configuration's time is the mean of the")
        w("fastest quarter of its processes' fastest runs (noise only adds "
          "time), against plain Python runs interleaved with it.")
        w("")

        # ---- runtime ratios
        def ratio(pairs, mode):
            return fastest(pairs, mode) / fastest(pairs, "plain")

        w("1. Runtime, ratio to plain Python")
        hdr = "%-11s %9s %9s %9s %9s %12s %9s %9s %9s %11s" % (
            "workload", "plain ms", "imported", "(ctypes)", "PY_START",
            "START+RETURN", "all 9", "CPython's", "cProfile", "py monitor")
        w(hdr)
        w("-" * len(hdr))
        worst_untraced = (0, None)
        for wl in WORKLOADS:
            pl = fastest(U[wl]["pairs"], "plain") / 1e6
            imp = ratio(U[wl]["pairs"], "pyusdt")
            if imp > worst_untraced[0]:
                worst_untraced = (imp, wl)
            tr = [ratio(D["traced"][SET_NAME[s]]["T"][wl]["pairs"], "pyusdt")
                  for s in SETS]
            ctl = ratio(U[wl]["pairs"], "ctypes") \
                if any("ctypes" in p for p in U[wl]["pairs"]) else None
            w("%-11s %9.2f %9.3f %9s %9.2f %12.2f %9.2f %9.2f %9.2f %11.2f"
              % (wl, pl, imp, "%.3f" % ctl if ctl else "-", tr[0], tr[1],
                 tr[2], tr[3], ratio(U[wl]["pairs"], "cprofile"),
                 ratio(U[wl]["pairs"], "pymon")))
        w("imported: pyusdt imported, no tracer.  (ctypes): a control, "
          "ctypes imported instead: what loading any extension does to")
        w("the memory layout (a few percent either way on these machines).  "
          "Traced: bpftrace @[pid] = count() on the probes.")
        w("CPython's: python:function__entry and function__return (which "
          "fire on the events of START+RETURN and")
        w("PY_RESUME/PY_YIELD/PY_THROW/PY_UNWIND).  py monitor: a Python "
          "sys.monitoring tool counting the events of all 9 probes.")
        w("")

        # ---- cost per hit
        w("2. Traced cost per probe hit = (traced - plain) / hits, against "
          "the bare uprobe hit")
        w("   bare: a C loop with the same probe instruction, counted by the "
          "same bpftrace program in the same tracer run.")
        w("   no-uprobe: the same events with the semaphores raised by hand "
          "(CPython's dispatch + pyusdt's callback, probe sites as nops);")
        w("   rest = ns/hit - bare - no-uprobe: what the uprobe costs the "
          "interpreter around it (caches, branch predictors).")
        w("   A cell is rated when tracing costs >= 20% of the run.")
        hdr = "%-11s %-13s %9s %8s %8s %9s %7s %6s %7s  %s" % (
            "workload", "probes", "hits/run", "ns/hit", "bare", "no-uprobe",
            "rest", "ratio", "target", "")
        w(hdr)
        w("-" * len(hdr))
        cells = []
        for s in SETS:
            name = SET_NAME[s]
            tr = D["traced"][name]
            bare_ns = self.bare_cost(tr["bare"], self.main_form)
            for wl in WORKLOADS:
                c = self.per_hit(tr, wl, "pyusdt", "calib")
                if c is None:
                    continue
                hits, ns, share = c
                fake = (fastest(U[wl]["pairs"], "fakesem " + name)
                        - fastest(U[wl]["pairs"], "plain")) / hits
                rated = share >= 0.2
                r = ns / bare_ns if bare_ns else None
                if rated:
                    cells.append((r, wl, name, ns, bare_ns))
                    w("%-11s %-13s %9.0f %8.1f %8.1f %9.1f %7.1f %6.2f %7s"
                      "  %s" % (wl, name, hits, ns, bare_ns, fake,
                                ns - bare_ns - fake, r,
                                "<=%.1f" % TARGET["per_hit_vs_bare"],
                                met(r <= TARGET["per_hit_vs_bare"])))
                else:
                    w("%-11s %-13s %9.0f %8s %8.1f %9s %7s %6s %7s  %s" % (
                        wl, name, hits, "-", bare_ns, "-", "-", "-", "",
                        "(not rated: too few hits to measure)"))
        w("")

        # ---- probe instruction
        w("3. Probe instruction: bare uprobe hit per instruction, and "
          "pyusdt built with each")
        hdr = "%-9s %-19s %10s %10s  %s" % ("form", "bytes", "ns/hit",
                                            "optimized", "pyusdt (recursion)")
        w(hdr)
        w("-" * len(hdr))
        t1 = D["traced"][SET_NAME[SETS[0]]]
        ta = D["traced"][SET_NAME[ALL]]
        for form, _, hexbytes in FORMS:
            ns = self.bare_cost(t1["bare"], form)
            opt = any(r.get("optimized") for r in t1["bare"][form])
            py = ""
            if form in (self.main_form, self.other_form):
                key = "pyusdt" if form == self.main_form else "other"
                calib = "calib" if form == self.main_form else "calib_other"
                a = self.per_hit(t1, "recursion", key, calib)
                b = self.per_hit(ta, "recursion", key, calib)
                if a and b:
                    py = "PY_START %.0f ns/hit (%.2fx bare), all 9 %.0f " \
                         "ns/hit" % (a[1], a[1] / ns, b[1])
            w("%-9s %-19s %10.1f %10s  %s" % (form, hexbytes, ns,
                                               "yes" if opt else "no", py))
        w("(optimized: the kernel turned the probe site into a call; the "
          "bare figures are from the PY_START tracer run)")
        w("")

        # ---- callgrind
        cgd = D.get("callgrind")
        w("4. Instructions per event, callgrind (deterministic: one timed "
          "run, all 9 probes on, no uprobe:")
        w("   the semaphores are raised by hand and the probe sites run as "
          "nops).  pyusdt = its callback, repr and probe function;")
        w("   CPython = the rest of what the events add to the run "
          "(dispatch, instrumented bytecode).")
        if not cgd:
            w("   skipped (valgrind not installed or --no-callgrind)")
        else:
            hdr = "%-20s" % "pyusdt, per event" + "".join(
                "%12s" % wl for wl in WORKLOADS)
            w(hdr)
            w("-" * len(hdr))
            pw = cgd["per_workload"]
            for p in ALL:
                if not any(p in pw[wl]["per_probe"] for wl in WORKLOADS):
                    continue
                row = "%-20s" % ("  " + p)
                for wl in WORKLOADS:
                    c, i = pw[wl]["per_probe"].get(p, (0, 0))
                    row += "%12s" % ("%.0f" % (i / c) if c else "-")
                w(row)
            w("%-20s" % "  all events" + "".join(
                "%12.0f" % (pw[wl]["own"] / pw[wl]["events"])
                for wl in WORKLOADS))
            w("%-20s" % "CPython, per event" + "".join(
                "%12.0f" % ((pw[wl]["traced_run"] - pw[wl]["plain_run"]
                             - pw[wl]["own"]) / pw[wl]["events"])
                for wl in WORKLOADS))
            w("%-20s" % "events per run" + "".join(
                "%12d" % pw[wl]["events"] for wl in WORKLOADS))
            w("%-20s" % "untraced Ir ratio" + "".join(
                "%12.4f" % (pw[wl]["imported_run"] / pw[wl]["plain_run"])
                for wl in WORKLOADS))
            w("(untraced Ir ratio: instructions of one run with pyusdt "
              "imported and no tracer, over plain Python)")
            w("lines with PY_START only (semaphore raised by hand): Ir "
              "ratio to plain %.4f" % cgd["lines_py_start_ratio"])
        w("")

        stack_lines, stack_results = self.report_stacks()
        lines += stack_lines
        filter_lines, filter_results = self.report_filter()
        lines += filter_lines
        autoload_lines, autoload_results = self.report_autoload()
        lines += autoload_lines
        lines += self.report_pcp()[0]
        lines += self.report_baseline()

        # ---- targets
        w("6. Targets")
        hdr = "%-52s %-32s %-12s %s" % ("target", "measured", "limit", "")
        w(hdr)
        w("-" * len(hdr))
        results = []

        def row(what, measured, limit, ok):
            results.append((what, ok))
            w("%-52s %-32s %-12s %s" % (what, measured, limit, met(ok)))

        for r in stack_results + filter_results + autoload_results:
            row(*r)
        row("untraced runtime ratio, worst workload",
            "%.3f (%s)" % worst_untraced, "<= %.2f" % TARGET["untraced_ratio"],
            worst_untraced[0] <= TARGET["untraced_ratio"])
        # CPython's probes cost what pyusdt's own cost, per hit
        own = self.per_hit(D["traced"][SET_NAME[SETS[1]]], "recursion",
                           "pyusdt", "calib")
        cpy = self.per_hit(D["traced"][SET_NAME[SETS[3]]], "recursion",
                           "pyusdt", "calib")
        if own and cpy:
            r = cpy[1] / own[1]
            row("CPython's probes per hit / START+RETURN (recursion)",
                "%.0f / %.0f ns = %.2f" % (cpy[1], own[1], r),
                "<= %.2f" % TARGET["cpython_vs_own"],
                r <= TARGET["cpython_vs_own"])
        else:
            w("%-52s %-32s" % ("CPython's probes per hit",
                               "(the interpreter fires them itself here)"))
        cgd = D.get("callgrind")
        if cgd:
            irs = {wl: v["imported_run"] / v["plain_run"]
                   for wl, v in cgd["per_workload"].items()}
            wl = max(irs, key=irs.get)
            w("%-52s %-32s" % ("  (instructions, callgrind: worst untraced "
                               "ratio)", "%.4f (%s)" % (irs[wl], wl)))
        imp_ms = median([p["pyusdt"]["import_ns"] for wl in WORKLOADS
                         for p in U[wl]["pairs"]]) / 1e6
        cpu = [p["pyusdt"].get("import_cpu_ns") for wl in WORKLOADS
               for p in U[wl]["pairs"]]
        imp_cpu = median(cpu) / 1e6 if None not in cpu else None
        row("import pyusdt, wall time", "%.2f ms (median%s)" % (
            imp_ms, ", CPU %.2f ms" % imp_cpu if imp_cpu else ""),
            "< %.0f ms" % TARGET["import_ms"], imp_ms < TARGET["import_ms"])
        rss_imp = median([p["pyusdt"]["import_rss_kb"] for wl in WORKLOADS
                          for p in U[wl]["pairs"]])
        row("RSS added by import (untraced)", "%d KiB" % rss_imp,
            "< 1024 KiB", rss_imp < TARGET["rss_kib"])
        tra = ta["T"]["mixed"]["pairs"]
        rss_tr = median([p["pyusdt"]["maxrss_kb"] - p["plain"]["maxrss_kb"]
                         for p in tra])
        row("peak RSS added, mixed, all 9 probes traced", "%d KiB" % rss_tr,
            "< 1024 KiB", rss_tr < TARGET["rss_kib"])
        if cells:
            worst = max(cells)
            row("traced cost per hit / bare hit, worst rated cell",
                "%.2f (%s, %s: %.0f/%.0f ns)" % (worst[0], worst[1], worst[2],
                                                  worst[3], worst[4]),
                "<= %.1f" % TARGET["per_hit_vs_bare"],
                worst[0] <= TARGET["per_hit_vs_bare"])
            best = min(cells)
            w("%-52s %-32s" % ("  (best rated cell)", "%.2f (%s, %s)"
                               % (best[0], best[1], best[2])))
        lt = t1["T"]["lines"]["pairs"]
        lr = ratio(lt, "pyusdt")
        en = sorted({tuple(p["pyusdt"]["enabled"]) for p in lt})
        row("PY_START only: lines workload ratio, events on",
            "%.3f, on: %s" % (lr, "/".join(",".join(e) for e in en)),
            "<= %.2f, PY_START" % TARGET["untraced_ratio"],
            lr <= TARGET["untraced_ratio"] and en == [("PY_START",)])
        if cgd:
            w("%-52s %-32s" % ("  (instructions, callgrind: lines with "
                               "PY_START only)", "%.4f"
                               % cgd["lines_py_start_ratio"]))
        la = ratio(ta["T"]["lines"]["pairs"], "pyusdt")
        w("%-52s %-32s" % ("  (lines with all 9 probes, LINE included)",
                           "%.2f" % la))
        # bounded repr
        rt = D["traced"][SET_NAME[SETS[1]]]["extra"].get("repr")
        ru = D.get("repr_untraced")
        if rt and ru:
            cost = {k: min(t["ns_per_call"][k] for t in rt)
                    - min(u[k] for u in ru) for k in ru[0]}
            for big, full, small in (("list10M", "list1000", "list3"),
                                     ("str100M", "str1K", "str3")):
                r = cost[big] / cost[full]
                row("repr: %s vs %s (PY_RETURN traced)" % (big, full),
                    "%.0f vs %.0f ns/call (%.2fx)" % (cost[big], cost[full],
                                                       r),
                    "<= %.2fx" % TARGET["repr_big_vs_full"],
                    r <= TARGET["repr_big_vs_full"])
                w("%-52s %-32s" % ("  (%s, whose repr does not fill the "
                                   "buffer)" % small,
                                   "%.0f ns/call" % cost[small]))
        lat = D.get("latency") or []
        limit = CHECK_MSEC + TARGET["latency_slack_ms"]
        for key, what in (("on_ms", "enable after attach"),
                          ("off_ms", "off after detach")):
            vals = [r[key] for r in lat]
            ok = vals and all(v is not None and v <= limit for v in vals)
            row("%s, max of %d (idle and busy)" % (what, len(vals)),
                "%s ms" % "/".join("%.0f" % v if v is not None else "never"
                                   for v in vals),
                "<= %d ms" % limit, bool(ok))
        rz = t1["extra"].get("redzone", {})
        safe, unsafe = rz.get("safe", {}), rz.get("unsafe", {})
        row("red zone: pyusdt's build (-mno-red-zone), %s"
            % safe.get("site", "?"),
            "%s of %s corrupted, optimized %s" % (
                safe.get("corrupted"), safe.get("calls"),
                safe.get("optimized")), "0 corrupted",
            safe.get("corrupted") == "0")
        w("%-52s %-32s %-12s %s" % (
            "  red zone: the same code with a red zone (control)",
            "%s of %s corrupted, optimized %s" % (
                unsafe.get("corrupted"), unsafe.get("calls"),
                unsafe.get("optimized")), "> 0 if opt.",
            "(the test can fail)" if unsafe.get("optimized") == "yes"
            and unsafe.get("corrupted") not in (None, "0")
            else "(not shown)"))
        w("")
        w("%d of %d targets met" % (sum(ok for _, ok in results),
                                    len(results)))
        return "\n".join(lines)

    def bare_cost(self, bare, form):
        base = low(self.data["bare"]["untraced"][form])
        return low(r["ns_per_call"] for r in bare[form]) - base

    def report_baseline(self):
        """Section 7, with --baseline: this build and another, measured in
        the same run, interleaved."""
        D = self.data
        if not D["meta"].get("baseline"):
            return []
        U = D["untraced"]
        T = D["traced"][SET_NAME[SETS[1]]]
        lines = []
        w = lines.append

        def ratio(pairs, mode):
            return fastest(pairs, mode) / fastest(pairs, "plain")

        w("7. This build and the baseline (%s), in one run: ratio to "
          "plain Python" % D["meta"]["baseline"])
        hdr = "%-11s %10s %10s %14s %14s %10s %10s" % (
            "workload", "imported", "(baseline)", "START+RETURN",
            "(baseline)", "ns/hit", "(baseline)")
        w(hdr)
        w("-" * len(hdr))
        for wl in WORKLOADS:
            now = self.per_hit(T, wl, "pyusdt", "calib")
            base = self.per_hit(T, wl, "baseline", "calib_baseline")
            w("%-11s %10.3f %10.3f %14.2f %14.2f %10s %10s" % (
                wl, ratio(U[wl]["pairs"], "pyusdt"),
                ratio(U[wl]["pairs"], "baseline"),
                ratio(T["T"][wl]["pairs"], "pyusdt"),
                ratio(T["T"][wl]["pairs"], "baseline"),
                "%.1f" % now[1] if now else "-",
                "%.1f" % base[1] if base else "-"))
        w("")
        return lines

    def per_hit(self, tr, wl, key, calib):
        """(hits per run, ns per hit, share of the traced run)."""
        T = tr["T"][wl]
        if calib not in T:
            return None
        runs = tr["runs"]
        h0 = T[calib]["hits"]
        # warm-up + runs timed runs; the calibration ran the warm-up only
        hits = median([(p[key]["hits"] - h0) / runs for p in T["pairs"]
                       if key in p])
        if not hits or hits <= 0:
            return None
        t, plain = fastest(T["pairs"], key), fastest(T["pairs"], "plain")
        return hits, (t - plain) / hits, (t - plain) / t

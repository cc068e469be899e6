"""Run CPython's own regression tests plain, under pyusdt untraced and
under pyusdt with every probe attached, and compare the results test by
test (tests/in-root/cpython-suite runs it for each interpreter).

usage: compare.py PYTHON COUNT LIBRARY OUTDIR

The first COUNT files of tests/cpython/tests.txt run sequentially in one
process per pass, as `PYTHON -m test` would run them (regrtest's -j
workers would not load pyusdt); the plain and untraced passes run at the
same time, the traced one alone.  Untraced, every test must end as in the
plain pass; traced, too, except the differences listed with their cause
in tests/cpython/traced-differences.  A test whose result differs is run
again, alone, in both passes: a difference that does not come back is
reported as not reproduced (a test that depends on timing), not failed.

Prints one TAP line per test file and pass, then automake's summary
lines ("# PASS: N", "# FAIL: N").
"""

import concurrent.futures
import fnmatch
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
PASS_TIMEOUT = 1200     # seconds for one pass of every file


def read_list(name):
    with open(os.path.join(HERE, name)) as f:
        return [line.split("#", 1)[0].split() for line in f
                if line.split("#", 1)[0].strip()]


def test_files(count):
    return [words[0] for words in read_list("tests.txt")][:count]


def ignored():
    """Tests left out of every pass: [--ignore PATTERN ...]."""
    args = []
    for words in read_list("ignore"):
        args += ["--ignore", words[0]]
    return args


def known_differences(python):
    """[(test id pattern, cause)] of the traced differences that apply to
    this interpreter."""
    version = os.path.basename(python)
    out = []
    with open(os.path.join(HERE, "traced-differences")) as f:
        for line in f:
            body, _, cause = line.partition("#")
            words = body.split()
            if len(words) == 2 and fnmatch.fnmatch(version, words[0]):
                out.append((words[1], cause.strip()))
    return out


def run_pass(python, launcher, files, xml, log, extra=()):
    """One regrtest run; {test id: result}, or None if it wrote no XML
    (the process died), and how long it took."""
    if os.path.exists(xml):
        os.unlink(xml)
    cmd = [python] + (["-m", "pyusdt"] if launcher else []) + [
        "-m", "test", "--junit-xml", xml] + ignored() + list(extra) + files
    t0 = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd="/tmp",
                                start_new_session=True)
        try:
            proc.wait(timeout=PASS_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            out.write("\ncompare.py: killed after %d s\n" % PASS_TIMEOUT)
    took = time.monotonic() - t0
    if not os.path.exists(xml):
        return None, took, proc.returncode
    results = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        kinds = [c.tag for c in case
                 if c.tag in ("failure", "error", "skipped")]
        results[case.get("name")] = kinds[0] if kinds else "passed"
    return results, took, proc.returncode


def file_of(test_id):
    """test.test_sys.SysModuleTest.test_x -> test_sys"""
    parts = test_id.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "test" else parts[0]


def last_file(log):
    """The test file a pass was running when it died."""
    last = "?"
    with open(log, errors="replace") as f:
        for line in f:
            words = line.split()
            if len(words) >= 2 and words[-1].startswith("test_") \
                    and "/" in line and "]" in line:
                last = words[-1]
    return last


class Tracer:
    """bpftrace attached system-wide to every pyusdt probe of LIBRARY,
    counting hits per probe."""

    def __init__(self, library):
        self.proc = subprocess.Popen(
            ["bpftrace", "-e",
             'BEGIN { printf("READY\\n"); } '
             'usdt:%s:pyusdt:* { @hits[probe] = count(); }' % library],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        while line and "READY" not in line:
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("bpftrace did not start: %s"
                               % self.proc.stderr.read())
        time.sleep(1)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=120)
        total = 0
        for line in out.splitlines():
            if line.startswith("@hits[") and ":" in line:
                total += int(line.rsplit(":", 1)[1])
        return total


class Report:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=()):
        self.n += 1
        self.failed += not cond
        print("%s: %s" % ("PASS" if cond else "FAIL", name))
        for line in diag:
            print("#   " + line)
        sys.stdout.flush()


def rerun(python, launcher, test_ids, outdir, library=None):
    """{test id: result} of test_ids run again, alone (one regrtest run
    with a --match each), traced when library is given."""
    if not test_ids:
        return {}
    xml = os.path.join(outdir, "rerun.xml")
    log = os.path.join(outdir, "rerun.log")
    files = sorted({file_of(t) for t in test_ids})
    extra = []
    for t in test_ids:
        extra += ["--match", t]
    tracer = Tracer(library) if library else None
    try:
        results, _, _ = run_pass(python, launcher, files, xml, log, extra)
    finally:
        if tracer:
            tracer.stop()
    return results or {}


def compare(report, python, label, plain, other, files, allowed, outdir,
            library=None):
    """One line per test file: its tests end in the pass label as in the
    plain one, but for the allowed differences."""
    version = os.path.basename(python)
    rows = []
    suspects = []
    for test_id in sorted(set(plain) | set(other)):
        want = plain.get(test_id, "not run")
        got = other.get(test_id, "not run")
        if want == got:
            continue
        cause = next((c for p, c in allowed
                      if fnmatch.fnmatch(test_id, p)), None)
        if cause is not None:
            rows.append(("known", test_id, want, got, cause))
        else:
            suspects.append((test_id, want, got))
    # again, alone, in both passes: timing-dependent tests differ now and
    # then
    ids = [s[0] for s in suspects]
    again = rerun(python, True, ids, outdir, library)
    again_plain = rerun(python, False, ids, outdir)
    for test_id, want, got in suspects:
        a = again.get(test_id, "not run")
        b = again_plain.get(test_id, "not run")
        rows.append(("differs" if a != b else "not reproduced", test_id,
                     want, got, "alone: %s plain, %s %s" % (b, a, label)))
    for f in files:
        mine = [r for r in rows if file_of(r[1]) == f]
        n = sum(1 for t in plain if file_of(t) == f)
        known = sum(r[0] == "known" for r in mine)
        diag = ["%s %s: plain %s, %s %s (%s)" % (kind, tid, want, label,
                                                 got, why)
                for kind, tid, want, got, why in mine]
        report.ok(not any(r[0] == "differs" for r in mine),
                  "%s %s %s: %d tests as plain%s" % (
                      version, label, f, n,
                      ", %d known differences" % known if known else ""),
                  diag)


def summary(label, results, took):
    counts = {}
    for r in results.values():
        counts[r] = counts.get(r, 0) + 1
    print("# %-9s %5d tests in %4.0f s: %s" % (
        label, len(results), took,
        ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items()))))


def main():
    python, count, library, outdir = sys.argv[1:5]
    files = test_files(int(count))
    os.makedirs(outdir, exist_ok=True)
    version = os.path.basename(python)
    report = Report()
    passes = {}
    # plain and untraced at once (one CPU each), then traced alone
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = {label: pool.submit(
                    run_pass, python, launcher, files,
                    os.path.join(outdir, "%s-%s.xml" % (version, label)),
                    os.path.join(outdir, "%s-%s.log" % (version, label)))
                for label, launcher in (("plain", False),
                                        ("untraced", True))}
        done = {label: f.result() for label, f in runs.items()}
    tracer = Tracer(library)
    try:
        done["traced"] = run_pass(
            python, True, files,
            os.path.join(outdir, "%s-traced.xml" % version),
            os.path.join(outdir, "%s-traced.log" % version))
    finally:
        hits = tracer.stop()
    for label in ("plain", "untraced", "traced"):
        results, took, status = done[label]
        log = os.path.join(outdir, "%s-%s.log" % (version, label))
        if results is None:
            report.ok(False, "%s %s: the run ended (status %s) in %s "
                      "without results" % (version, label, status,
                                           last_file(log)))
            continue
        passes[label] = results
        summary(label, results, took)
    print("# traced:   %d probe hits" % hits)
    report.ok(hits > 0, "%s traced: the probes fired (%d hits)"
              % (version, hits))
    if "plain" not in passes:
        print("# FAIL: %d" % max(report.failed, 1))
        return 1
    for label in ("untraced", "traced"):
        if label in passes:
            allowed = known_differences(python) if label == "traced" else []
            compare(report, python, label, passes["plain"], passes[label],
                    files, allowed, outdir,
                    library if label == "traced" else None)
    print("# PASS: %d" % (report.n - report.failed))
    print("# FAIL: %d" % report.failed)
    return 1 if report.failed else 0


sys.exit(main())

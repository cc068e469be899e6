"""Hostile objects: return values, yielded values,
callables and exceptions whose repr raises, recurses, is huge, is slow,
mutates state, raises KeyboardInterrupt or releases the GIL.  Traced and
untraced, the program prints the same (its record of hostile dunders
called stays empty) and exits 0; each probe gets a bounded placeholder,
never the object's own repr."""

import re
import subprocess

from pyusdttest import (PYTHON, TAP, Bpftrace, probe, python_env,
                        require_tracing, workload_normalized)

OBJ = r"<__main__\.%s object at 0x[0-9a-f]+>"
KINDS = ("Raising", "Recursive", "Huge", "Slow", "Mutating", "Keyboard",
         "Gil")
ANY = OBJ % r"(%s)Repr" % "|".join(KINDS)
WANT_OUT = "dunders called: []\nstate: []\ndone\n"


def main():
    tap = TAP()
    require_tracing(tap)
    path = workload_normalized("hostile.py")
    plain = subprocess.run([PYTHON, path], env=python_env(),
                           capture_output=True, text=True, timeout=120)
    tap.eq((plain.returncode, plain.stdout, plain.stderr), (0, WANT_OUT, ""),
           "python3 alone: no hostile dunder is called by the program")
    untraced = subprocess.run([PYTHON, "-m", "pyusdt", path],
                              env=python_env(), capture_output=True,
                              text=True, timeout=120)
    tap.eq((untraced.returncode, untraced.stdout, untraced.stderr),
           (0, WANT_OUT, ""), "untraced under pyusdt: the same")

    value_probes = ("PY_RETURN", "PY_YIELD", "CALL", "RAISE", "PY_UNWIND")
    prog = "\n".join(
        '%s /str(arg1) == "%s"/ { printf("%%llu|%s|%%s|%%s\\n", nsecs, '
        'str(arg0), str(arg4)); }' % (probe(p), path, p)
        for p in value_probes)
    # LINE and PY_START too: every callback runs while the values exist
    prog += "\n%s { @l = count(); }\n%s { @s = count(); }" % (
        probe("LINE"), probe("PY_START"))
    with Bpftrace(prog) as bt:
        traced = subprocess.run([PYTHON, "-m", "pyusdt", path],
                                env=python_env(), capture_output=True,
                                text=True, timeout=300)
        text = bt.stop()
    tap.eq((traced.returncode, traced.stdout, traced.stderr),
           (0, WANT_OUT, ""), "traced (every value probe, LINE, PY_START): "
           "same output, no hostile dunder called, status 0")
    events = []
    for line in text.splitlines():
        parts = line.split("|", 3)
        if len(parts) == 4 and parts[0].isdigit():
            events.append((int(parts[0]), parts[1], parts[2], parts[3]))
    events.sort()
    too_long = [e for e in events if len(e[3].encode()) > 255]
    tap.eq(too_long, [], "every value's text is at most 255 bytes (%d "
           "events)" % len(events))

    rets = [e[3] for e in events if e[1] == "PY_RETURN" and e[2] == "ret"]
    want = [OBJ % (k + "Repr") for k in KINDS] + [
        r"\[%s, %s, .*\.\.\." % (OBJ % "RaisingRepr", OBJ % "RecursiveRepr"),
        r"\{'k': %s\}" % (OBJ % "RaisingRepr"),
        r"\(%s,\)" % (OBJ % "SlowRepr"),
        OBJ % "HostileStr",
        OBJ % "HostileList",
        OBJ % "HostileMeta",
        r"<OddModule object at 0x[0-9a-f]+>",
        r"<__main__\.L{200,}\.\.\.",
        r"HostileError\(%s\)" % (OBJ % "HugeRepr"),
        re.escape("[[[[...]]]]"),
        re.escape("[[[[...]]]]"),
    ]
    tap.ok(len(rets) == len(want)
           and all(re.fullmatch(w, r) for w, r in zip(want, rets)),
           "PY_RETURN: %d hostile values, each shown by a placeholder "
           "(type and address, bounded containers)" % len(want),
           "\n".join("%s\n  %s" % (r, w) for w, r in zip(want, rets))
           if len(rets) == len(want) else rets)
    calls = [e[3] for e in events if e[1] == "CALL" and e[2] == "main"
             and ("Repr object" in e[3] or "HostileMeta" in e[3])]
    tap.ok(len(calls) == 8 and all(re.fullmatch(ANY, c) for c in calls[:7])
           and re.fullmatch(OBJ % "HostileMeta", calls[7]),
           "CALL: 7 hostile callables and a class with a hostile metaclass, "
           "placeholders", calls)
    yields = [e[3] for e in events if e[1] == "PY_YIELD" and e[2] == "gen"]
    tap.ok(len(yields) == 7 and all(re.fullmatch(ANY, y) for y in yields),
           "PY_YIELD: 7 hostile values, placeholders", yields)
    raises = [e[3] for e in events if e[1] in ("RAISE", "PY_UNWIND")
              and e[2] == "raiser"]
    tap.ok(len(raises) == 14 and all(
        re.fullmatch(r"HostileError\(%s\)" % ANY, r) for r in raises),
        "RAISE and PY_UNWIND: 7 exceptions with hostile repr and str, shown "
        "by type and arguments", raises)
    tap.done()


main()

"""Exact probe arguments: names, files, first lines, offsets, lines, reprs
(bounded, never running user code), <missing>, non-UTF-8 file names."""

import ast
import dis
import re
import subprocess

from pyusdttest import (PYTHON, TAP, Bpftrace, probe, python_env,
                        require_tracing, workload)

FMT = {
    "entry": '"%s|%d|%s|%s|%d|%d|%s|%s\\n", "{p}", pid, str(arg0), '
             'str(arg1), arg2, arg3, str(arg4), str(arg5)',
    "value": '"%s|%d|%s|%s|%d|%d|%s|%s\\n", "{p}", pid, str(arg0), '
             'str(arg1), arg2, arg3, str(arg4), str(arg5)',
    "line": '"%s|%d|%s|%s|%d|%s|%s\\n", "{p}", pid, str(arg0), '
            'str(arg1), arg2, str(arg3), str(arg4)',
}
KIND = {"PY_START": "entry", "PY_RESUME": "entry", "LINE": "line"}


def printing_program(probes, name_filter):
    return "\n".join("%s /%s/ { printf(%s); }" % (
        probe(p), name_filter, FMT[KIND.get(p, "value")].format(p=p))
        for p in probes)


def trace_events(args, probes, name_filter):
    """Events of one traced `python -m pyusdt args` run, as tuples."""
    with Bpftrace(printing_program(probes, name_filter)) as bt:
        proc = subprocess.run([PYTHON, "-m", "pyusdt"] + args,
                              env=python_env(), capture_output=True,
                              text=True, timeout=120)
        text = bt.stop()
    events = []
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) >= 6:
            events.append(tuple(parts))
    return proc, events


def functions(path):
    tree = ast.parse(open(path).read())
    return {n.name: n.lineno for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef)}


def code_of(path, name):
    code = compile(open(path).read(), path, "exec")
    for c in code.co_consts:
        if hasattr(c, "co_name") and c.co_name == name:
            return c
    raise KeyError(name)


def return_offset(code):
    """Offset of the instruction that returns (what PY_RETURN reports)."""
    for ins in dis.get_instructions(code):
        if ins.opname in ("RETURN_VALUE", "RETURN_CONST"):
            last = ins.offset
    return last


def main():
    tap = TAP()
    require_tracing(tap)
    path = workload("values.py")
    lines = functions(path)
    proc, events = trace_events([path], ["PY_START", "PY_RETURN",
                                                  "CALL", "PY_UNWIND",
                                                  "RAISE", "LINE"],
                                 'str(arg1) == "%s"' % path)
    tap.eq((proc.returncode, proc.stderr), (0, ""),
           "values.py runs unchanged (its raising __repr__ never ran)")

    def find(p, name, extra=None):
        for e in events:
            if e[0] == p and e[2] == name and e[3] == path:
                if extra is None or extra(e):
                    return e
        return None

    e = find("PY_START", "ret_int")
    tap.eq(e and e[4:], (str(lines["ret_int"]), "0", "ret_int",
                         "ret_int (%s:%d)" % (path, lines["ret_int"])),
           "PY_START: first line, offset 0, qualname, location")
    e = find("PY_RETURN", "ret_int")
    want_off = return_offset(code_of(path, "ret_int"))
    tap.eq(e and e[4:], (str(lines["ret_int"]), str(want_off), "42",
                         "ret_int"),
           "PY_RETURN: first line, return offset, repr, qualname")
    e = find("PY_RETURN", "ret_str")
    tap.eq(e and e[6], repr("it's \"quoted\"\n").replace("\n", "\\n"),
           "PY_RETURN: a str's repr, quoted and escaped as repr() does")
    e = find("PY_RETURN", "ret_nested")
    tap.eq(e and e[6], repr({"a": [1, (2,)], "b": None}),
           "PY_RETURN: nested containers as repr() writes them")
    e = find("PY_RETURN", "ret_big_list")
    full = repr(list(range(1000)))
    r = e[6] if e else ""
    tap.ok(r.endswith("...") and full.startswith(r[:-3])
           and 240 <= len(r) <= 255,
           "PY_RETURN: a 1000-item list cut to at most 255 bytes (%d)"
           % len(r), r)
    e = find("PY_RETURN", "ret_huge_str")
    r = e[6] if e else ""
    tap.ok(r.startswith("'xxxx") and r.endswith("...") and len(r) <= 255,
           "PY_RETURN: a 10 MB str cut to at most 255 bytes (%d)" % len(r),
           r)
    e = find("PY_RETURN", "ret_opaque")
    tap.ok(e is not None and re.fullmatch(
        r"<__main__\.Opaque object at 0x[0-9a-f]+>", e[6]) is not None,
        "PY_RETURN: a user class shown without calling its __repr__",
        e)
    e = find("PY_UNWIND", "fail")
    tap.eq(e and (e[4], e[6], e[7]), (str(lines["fail"]), "KeyError('k')",
                                      "fail"),
           "PY_UNWIND: the exception's repr")
    e = find("RAISE", "fail")
    tap.eq(e and e[6], "KeyError('k')", "RAISE: the exception's repr")
    e = find("CALL", "main", lambda e: e[6] == "<built-in function len>")
    tap.ok(e is not None, "CALL: a builtin callable's repr", e)
    e = find("CALL", "main", lambda e: e[6].startswith("<function ret_int"))
    tap.ok(e is not None and re.fullmatch(
        r"<function ret_int at 0x[0-9a-f]+>", e[6]) is not None,
        "CALL: a Python function's repr", e)
    got_lines = [int(e[4]) for e in events
                 if e[0] == "LINE" and e[2] == "main" and e[3] == path]
    first = lines["main"]
    tap.eq(got_lines, list(range(first + 1, first + 12)),
           "LINE: each line of main() in order")
    tap.eq({e[5:] for e in events
            if e[0] == "LINE" and e[2] == "main" and e[3] == path},
           {("main", "main (%s:%d)" % (path, first))},
           "LINE: qualname and location")

    # MISSING and arguments no code object gives
    proc, events = trace_events([workload("missing.py")],
                                ["PY_START", "CALL", "PY_RETURN", "LINE"],
                                'str(arg0) == "<missing>"')
    # missing.py prints "ok", not its pid: match events by <missing>
    miss = sorted(e[:1] + e[2:] for e in events if e[2] == "<missing>")
    tap.eq(proc.returncode, 0, "calling the callbacks by hand works")
    tap.eq(miss, sorted([
        ("CALL", "<missing>", "<missing>", "0", "3", "<missing>",
         "<missing>"),
        ("LINE", "<missing>", "<missing>", "9", "<missing>",
         "<missing> (<missing>:0)"),
        ("PY_RETURN", "<missing>", "<missing>", "0", "5", "<missing>",
         "<missing>"),
        ("PY_START", "<missing>", "<missing>", "0", "0", "<missing>",
         "<missing> (<missing>:0)"),
        ("PY_START", "<missing>", "<missing>", "0", "0", "<missing>",
         "<missing> (<missing>:0)"),
        ("PY_START", "<missing>", "<missing>", "0", "7", "<missing>",
         "<missing> (<missing>:0)"),
    ]), "MISSING and non-code arguments: <missing>, line 0, never a crash")

    # a file name that is not valid UTF-8
    code = ("exec(compile('def odd():\\n    return 1\\nodd()\\n', "
            "'/tmp/bad\\udcffname\\U0001f600.py', 'exec'))")
    proc, events = trace_events(["-c", code], ["PY_START"],
                                'str(arg0) == "odd"')
    odd = [e for e in events if e[2] == "odd"]
    tap.eq(odd and odd[0][3], "/tmp/bad\\udcffname\U0001f600.py",
           "a surrogate in a file name arrives escaped, non-BMP as UTF-8")

    # no code watcher free: nothing kept, the names made at each event
    path = workload("no_watcher.py")
    first = functions(path)["leaf"]
    with Bpftrace(printing_program(["PY_START", "LINE"],
                                   'str(arg0) == "leaf"')) as bt:
        proc = subprocess.run([PYTHON, path], env=python_env(),
                              capture_output=True, text=True, timeout=120)
        text = bt.stop()
    got = [tuple(line.split("|")[2:]) for line in text.splitlines()
           if line.startswith(("PY_START|", "LINE|"))]
    location = "leaf (%s:%d)" % (path, first)
    tap.eq((proc.returncode, proc.stdout.strip(), got),
           (0, "8 code watchers taken",
            [("leaf", path, str(first), "0", "leaf", location),
             ("leaf", path, str(first + 1), "leaf", location)] * 5),
           "no code watcher free: the names and location made at each of "
           "5 calls", text)
    tap.done()


main()

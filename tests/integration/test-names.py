"""Odd names: function, qualified and file names with
non-BMP characters, surrogates (undecodable bytes), 100,000 characters,
none at all, punctuation; a real file whose name is not UTF-8 and one
whose path is near PATH_MAX.  Every probe gets the name whole (valid UTF-8
is passed as is, whatever its length: its end is read back at its exact
offset), or, for a name with surrogates, escaped as \\udcXX and cut at the
documented 1023 bytes ("..." at the end)."""

import os
import shutil
import subprocess
import sys
import tempfile

from pyusdttest import (PYTHON, TAP, WORKLOADS, Bpftrace, probe, python_env,
                        require_tracing, workload_normalized)

sys.path.insert(0, WORKLOADS)
from odd_names import CASES, FIRST  # noqa: E402

NAME_MAX = 1023     # bytes of an escaped name, "..." included (pyusdt(7))
HEAD = 190          # bytes of each string bpftrace prints (max_strlen 200)


def expect(s):
    """What the probe delivers for str s, as bytes."""
    if not any(0xd800 <= ord(c) <= 0xdfff for c in s):
        return s.encode()
    out = b""
    for c in s:
        piece = (b"\\u%04x" % ord(c) if 0xd800 <= ord(c) <= 0xdfff
                 else c.encode())
        if len(out) + len(piece) > NAME_MAX - 3:
            return out + b"..."
        out += piece
    return out


def head(g):
    """bpftrace's text of a string it cut at max_strlen, which it ends
    with dots ("..", "..." depending on the version), without them."""
    if len(g) > HEAD:
        return g.rstrip(b".")
    return g


def is_head(g, w):
    g = head(g)
    return w.startswith(g) and len(g) >= min(len(w), HEAD - 10)


def tail_offset(b):
    return max(0, len(b) - 40)


def main():
    tap = TAP()
    require_tracing(tap)
    d = tempfile.mkdtemp(prefix="pyusdt-names.")
    # a real file whose name is not UTF-8 (Latin-1 bytes)
    bad = os.path.join(os.fsencode(d), b"caf\xe9-\xff.py")
    with open(bad, "w") as f:
        f.write("def odd():\n    return 1\n\n\nodd()\n")
    # a real file whose path is near PATH_MAX (4096)
    deep = d
    while len(deep.encode()) < 3700:
        deep = os.path.join(deep, "d" * 200)
    os.makedirs(deep)
    deep = os.path.join(deep, "e" * 150 + ".py")
    with open(deep, "w") as f:
        f.write("\n\n\n\ndef deep():\n    return 1\n\n\ndeep()\n")

    setup = ['BEGIN { printf("READY\\n");']
    want = {}
    for k, (name, qual, path) in enumerate(CASES):
        w = (expect(name), expect(path), expect(qual or name))
        want[FIRST + k] = w
        setup.append("@noff[%d] = %d; @foff[%d] = %d;"
                     % (FIRST + k, tail_offset(w[0]), FIRST + k,
                        tail_offset(w[1])))
    want_bad = os.fsdecode(bad).encode("utf-8", "backslashreplace")
    want_deep = deep.encode()
    setup.append("@foff[1] = %d; @foff[5] = %d; }"
                 % (tail_offset(want_bad), tail_offset(want_deep)))
    fmt = ('printf("{p}\\x1f%d\\x1f%d\\x1f%s\\x1f%s\\x1f%s\\x1f%s\\x1f%s\\n",'
           ' pid, arg2, str(arg0), str(arg1), str({q}), '
           'str(arg0 + (uint64)@noff[arg2]), '
           'str(arg1 + (uint64)@foff[arg2]));')
    # only the functions of the test: names are long, events many
    pred = ('/arg2 >= %d || str(arg0) == "odd" || str(arg0) == "deep"/'
            % FIRST)
    prog = "\n".join(setup) + "\n" + "\n".join(
        "%s %s { %s }" % (probe(p), pred, fmt.format(p=p, q=q))
        for p, q in (("PY_START", "arg4"), ("PY_RETURN", "arg5")))
    prog += ('\n%s %s { printf("LINE\\x1f%%d\\x1f%%d\\x1f%%s\\x1f%%s'
             '\\x1f-\\x1f-\\x1f-\\n", pid, arg2 - 1, str(arg0), '
             'str(arg1)); }'
             % (probe("LINE"), pred.replace("arg2 >=", "arg2 >")))
    os.environ["BPFTRACE_MAX_STRLEN"] = str(HEAD + 10)
    runs = {}
    with Bpftrace(prog, add_ready=False) as bt:
        for label, args in (("cases", [workload_normalized("odd_names.py")]),
                            ("bad", [bad]), ("deep", [deep])):
            p = subprocess.Popen([os.fsencode(PYTHON), b"-m", b"pyusdt",
                                  os.fsencode(args[0])], env=python_env(),
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            out, err = p.communicate(timeout=120)
            runs[label] = (p.pid, p.returncode, out, err)
        text = bt.stop()
    tap.eq(runs["cases"][1:], (0, b"called %d\n" % len(CASES), b""),
           "the program with odd names runs as without tracing")
    tap.eq([runs[k][1:] for k in ("bad", "deep")], [(0, b"", b"")] * 2,
           "a non-UTF-8 file name and a 3,800-byte path run")

    if os.environ.get("REL_DEBUG"):
        sys.stderr.write(text[:3000])
    events = {}
    for line in text.encode("utf-8", "surrogateescape").split(b"\n"):
        f = line.split(b"\x1f")
        if len(f) == 8:
            key = (f[0].decode(), int(f[1]), int(f[2]))
            events.setdefault(key, []).append(f[3:])

    def check(kind, pid, line, name, path, qual=None):
        # several functions may start on that line: the one named so
        found = [e for e in events.get((kind, pid, line), [])
                 if is_head(e[0], name)]
        if not found:
            return "no %s event named %r for line %d" % (kind, name[:40],
                                                          line)
        e = found[0]
        got = {"name": e[0], "file": e[1], "qualname": e[2]}
        wants = {"name": name, "file": path, "qualname": qual}
        for what, w in wants.items():
            if w is None or (kind == "LINE" and what == "qualname"):
                continue
            g = got[what]
            if not is_head(g, w):
                return "%s %s: got %r (%d bytes), want %r (%d bytes)" % (
                    kind, what, g[-50:], len(g), w[:50], len(w))
        for what, w, g in (("name", name, e[3]), ("file", path, e[4])):
            if kind != "LINE" and w is not None \
                    and g != w[tail_offset(w):]:
                return "%s %s tail: got %r, want %r" % (kind, what, g,
                                                        w[tail_offset(w):])
        return None

    pid = runs["cases"][0]
    for k, (name, qual, path) in enumerate(CASES):
        n, f, q = want[FIRST + k]
        problems = [check("PY_START", pid, FIRST + k, n, f, q),
                    check("PY_RETURN", pid, FIRST + k, n, f, q),
                    check("LINE", pid, FIRST + k, n, f)]
        problems = [p for p in problems if p]
        tap.eq(problems, [], "case %d (%s%s, %d bytes; file %d bytes): "
               "PY_START, PY_RETURN and LINE get %s" % (
                   k, ascii(name[:12]), "..." if len(name) > 12 else "",
                   len(n), len(f), "the escaped name, cut at 1023 bytes"
                   if n.endswith(b"...") or f.endswith(b"...") else
                   "the names whole"))
    tap.eq(check("PY_START", runs["bad"][0], 1, b"odd", want_bad), None,
           "a real file named with Latin-1 bytes: its name escaped "
           "(%s)" % want_bad[-16:].decode())
    tap.eq(check("PY_START", runs["deep"][0], 5, b"deep", want_deep), None,
           "a real file at a %d-byte path: the path whole" % len(want_deep))
    shutil.rmtree(os.fsencode(d))
    tap.done()


main()

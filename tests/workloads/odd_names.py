"""Functions with odd names and file names: non-BMP characters,
surrogates (undecodable bytes of a file name), very long names, an empty
name.  CASES[k] = (name, qualname, file); case k's function has first line
FIRST + k and is called once, in order."""

FIRST = 7000000

CASES = [
    ("odd_\U0001f600_\U0001d523", None, "/tmp/names/\U0001f600-\U0001d523.py"),
    ("ok", None, "/tmp/names/caf\udce9.py"),
    ("n\udcff\udcfe", None, "/tmp/names/plain.py"),
    ("f" * 100000, None, "/tmp/names/long-name.py"),
    ("long_file", None, "/tmp/" + "d" * 100000 + ".py"),
    ("\udcff" * 2000, None, "/tmp/names/plain.py"),
    ("esc_file", None, "/x/" + "\udce9" * 3000),
    ("", None, "/tmp/names/empty.py"),
    ("meth", "Cls.\U0001d52a\U0001d522\U0001d531\U0001d525",
     "/tmp/names/q.py"),
    ("\U0001f600\udcff", None, "/tmp/names/mixed.py"),
    ("tab\tquote\"pipe", None, "/tmp/names/punct \"q\".py"),
]


def make(k, name, qualname, filename):
    ns = {}
    exec(compile("def f():\n    return 1\n", filename, "exec"), ns)
    f = ns["f"]
    f.__code__ = f.__code__.replace(co_name=name,
                                    co_qualname=qualname or name,
                                    co_firstlineno=FIRST + k)
    return f


if __name__ == "__main__":
    funcs = [make(k, *case) for k, case in enumerate(CASES)]
    for f in funcs:
        f()
    print("called", len(funcs))

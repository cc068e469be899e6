"""Known return values, callables and exceptions, for exact probe args."""


class Opaque:
    def __repr__(self):
        raise RuntimeError("a repr that must never run")


def ret_int():
    return 42


def ret_str():
    return "it's \"quoted\"\n"


def ret_big_list():
    return list(range(1000))


def ret_nested():
    return {"a": [1, (2,)], "b": None}


def ret_opaque():
    return Opaque()


def ret_huge_str():
    return "x" * 10000000


def fail():
    raise KeyError("k")


def main():
    ret_int()
    ret_str()
    ret_big_list()
    ret_nested()
    ret_opaque()
    ret_huge_str()
    try:
        fail()
    except KeyError:
        pass
    len("abc")


main()

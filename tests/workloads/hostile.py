"""Hostile values: objects whose repr (and every other dunder a repr
could reach) raises, recurses, is huge, is slow, mutates state, raises
KeyboardInterrupt or releases the GIL, returned, yielded, called, raised
and put in containers.  Each dunder records its call; the program prints
the record (empty: nothing but the program itself may call them) and
results that do not depend on addresses."""
import sys
import threading
import time

CALLED = []


def hostile(kind):
    def dunder(name):
        def method(self, *args):
            CALLED.append((kind, name))
            if kind == "raising":
                raise RuntimeError("hostile " + name)
            if kind == "recursive":
                return repr(self)
            if kind == "huge":
                return "x" * 50_000_000
            if kind == "slow":
                time.sleep(2)
                return "slow"
            if kind == "mutating":
                STATE.append(name)
                return "mutated"
            if kind == "keyboard":
                raise KeyboardInterrupt
            if kind == "gil":
                # let other threads run, as a repr that does I/O would
                done = threading.Event()
                threading.Thread(target=done.set).start()
                done.wait()
                return "gil"
            raise AssertionError(kind)
        method.__name__ = name
        return method
    ns = {n: dunder(n) for n in ("__repr__", "__str__", "__format__",
                                 "__len__", "__iter__", "__bool__",
                                 "__hash__", "__eq__", "__getattr__",
                                 "__sizeof__", "__reduce__")}
    ns["__call__"] = lambda self, *a: "called"
    return type(kind.capitalize() + "Repr", (), ns)


STATE = []
KINDS = ("raising", "recursive", "huge", "slow", "mutating", "keyboard",
         "gil")
CLASSES = {k: hostile(k) for k in KINDS}


class HostileMeta(type):
    def __repr__(cls):
        CALLED.append(("meta", "__repr__"))
        raise RuntimeError("hostile metaclass repr")


class Made(metaclass=HostileMeta):
    pass


class HostileError(Exception):
    def __repr__(self):
        CALLED.append(("error", "__repr__"))
        raise KeyboardInterrupt

    def __str__(self):
        CALLED.append(("error", "__str__"))
        raise RuntimeError("hostile str")


class HostileStr(str):
    def __repr__(self):
        CALLED.append(("str", "__repr__"))
        raise RuntimeError("hostile str subclass repr")


class HostileList(list):
    def __repr__(self):
        CALLED.append(("list", "__repr__"))
        return repr(self)

    def __iter__(self):
        CALLED.append(("list", "__iter__"))
        raise RuntimeError("hostile iter")

    def __len__(self):
        CALLED.append(("list", "__len__"))
        raise RuntimeError("hostile len")


class OddModule:
    pass


class Weird:
    def __str__(self):
        CALLED.append(("module", "__str__"))
        raise RuntimeError("module name's str")


OddModule.__module__ = Weird()


class LongName:
    pass


LongName.__qualname__ = "L" * 1_000_000


def ret(value):
    return value


def gen(values):
    for v in values:
        yield v


def raiser(arg):
    raise HostileError(arg)


def main():
    objs = [CLASSES[k]() for k in KINDS]
    for o in objs:
        ret(o)
        o(1)                       # CALL: the callable's repr
    ret(objs)                      # a list of them
    ret({"k": objs[0]})
    ret((objs[3],))
    ret(HostileStr("s"))
    ret(HostileList([1, 2]))
    ret(Made)                      # a class with a hostile metaclass
    Made()                         # CALL of it
    ret(OddModule())
    ret(LongName())
    ret(HostileError(objs[2]))
    deep = []
    for _ in range(10000):
        deep = [deep]
    ret(deep)
    cyclic = []
    cyclic.append(cyclic)
    ret(cyclic)
    for v in gen(objs):
        pass
    for o in objs:
        try:
            raiser(o)
        except HostileError:
            pass
    print("dunders called:", CALLED)
    print("state:", STATE)
    print("done")


if __name__ == "__main__":
    main()
    sys.exit(0)

"""A tiny program that fires every probe of pyusdt, with arguments
test-scripts checks exactly (events.bt)."""

import pyusdt  # noqa: F401  (traced from here on)


class Box:
    def get(self, x):
        return x * 2


def gen():
    try:
        yield 1
        yield 2
    except KeyError:
        yield 3


def fail():
    raise ValueError("boom")


def main():
    Box().get(21)
    g = gen()
    next(g)
    next(g)
    g.throw(KeyError("k"))
    try:
        fail()
    except ValueError:
        pass


main()

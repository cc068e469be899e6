"""Exceptions with known counts (exceptions.bt): parse() raises ValueError
10 times, load() receives and catches them; lookup() raises and catches
KeyError 3 times; gen() is thrown a KeyError it catches, then closed
(GeneratorExit received and escaped)."""


def parse(x):
    raise ValueError("bad %d" % x)


def load(x):
    try:
        parse(x)
    except ValueError:
        return None


def lookup(d, k):
    try:
        return d[k]
    except KeyError:
        return 0


def gen():
    try:
        yield 1
    except KeyError:
        yield 2


def main():
    for i in range(10):
        load(i)
    for i in range(3):
        lookup({}, i)
    g = gen()
    next(g)
    g.throw(KeyError("k"))
    g.close()


main()

"""Deterministic calls for top.bt, latency.bt and flow.bt (test-scripts).

a() runs 100 times, b() 50 times, fib(10) makes 177 calls, Calc.step()
30 and step() 20, numbers() is a generator of 3 values, outer() calls
check() that raises ValueError, caught in main().  Exit status: argv[1]
if given.
"""
import sys

import pyusdt  # noqa: F401  (traced from here on)


def a(n):
    t = 0
    for i in range(n):
        t += i
    return t


def b(n):
    t = 0
    for i in range(n):
        t -= i
    return t


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Calc:
    def step(self, x):
        return x + 1


def step(x):
    return x - 1


def numbers():
    yield 1
    yield 2
    yield 3


def check(x):
    if x > 1:
        raise ValueError("bad")
    return x


def outer(x):
    return check(x)


def after():
    return 1


def main():
    for i in range(100):
        a(300)
    for i in range(50):
        b(300)
    fib(10)
    c = Calc()
    for i in range(30):
        c.step(i)
    for i in range(20):
        step(i)
    for v in numbers():
        pass
    try:
        outer(2)
    except ValueError:
        pass
    after()


main()
if len(sys.argv) > 1:
    sys.exit(int(sys.argv[1]))

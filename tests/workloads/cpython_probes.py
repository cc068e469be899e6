"""Known calls for CPython's own probes (provider "python"): each function
runs a known number of times, so that function__entry, function__return
and line fire a known number of times at known lines (see
tests/integration/test-python-probes.py)."""
import asyncio
import sys


def leaf(n):
    return n + 1


def recurse(n):
    if n == 0:
        return 0
    return recurse(n - 1) + 1


def numbers(n):
    for i in range(n):
        yield i


def fail():
    raise ValueError("no")


def catch():
    try:
        fail()
    except ValueError:
        return 1


async def inner():
    await asyncio.sleep(0)
    return 2


async def outer():
    return await inner()


def loop():
    total = 0
    for i in range(3):
        total += i
    return total


def main():
    for i in range(5):
        leaf(i)
    recurse(4)
    for _ in numbers(3):
        pass
    catch()
    asyncio.run(outer())
    loop()


if __name__ == "__main__":
    main()
    sys.stdout.write("done\n")

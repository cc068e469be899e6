"""multiprocessing with one start method (argv[1]: fork, forkserver or
spawn): three Processes call work() 10, 20 and 30 times, one more exits
with status 3, and a Pool of two squares 0..9.  Prints what came back,
then {n: pid} of the three Processes as JSON on the last line (for the
tracer's per-process counts).  Imports pyusdt itself, so that children
started by spawn and forkserver load it too."""
import json
import multiprocessing
import os
import sys

import pyusdt  # noqa: F401


def work(i):
    return i + 1


def task(n, queue):
    total = 0
    for i in range(n):
        total += work(i)
    queue.put((n, os.getpid(), total))


def failing():
    sys.exit(3)


def square(x):
    return x * x


def main():
    ctx = multiprocessing.get_context(sys.argv[1])
    queue = ctx.Queue()
    procs = [ctx.Process(target=task, args=(n, queue)) for n in (10, 20, 30)]
    procs.append(ctx.Process(target=failing))
    for p in procs:
        p.start()
    results = sorted(queue.get(timeout=20) for _ in range(3))
    for p in procs:
        p.join(60)
    print("totals", [(n, total) for n, _pid, total in results])
    print("exitcodes", [p.exitcode for p in procs])
    with ctx.Pool(2) as pool:
        print("squares", pool.map(square, range(10)))
    print(json.dumps({n: pid for n, pid, _total in results}))


if __name__ == "__main__":
    main()

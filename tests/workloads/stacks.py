"""Known Python stacks for profile.bt and offcpu.bt: argv[1] names the
case.  The program enters the case's stack, prints "ready TID WAY"
(WAY: how pyusdt has scripts find a thread's PyThreadState) and the
stacks it is in, as profile.bt folds them (frames outermost first,
"QUALNAME (FILE:FIRSTLINE)" joined by ";"), one line "stack NAME
FOLDED" each, then waits for a line on stdin and runs for argv[2]
seconds (default 3): on CPU, or blocked for the "sleep" case, which then
prints "slept SECONDS" (its own measure of the time blocked)."""
import asyncio
import sys
import threading
import time
import _thread

CASE = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
go = threading.Event()
reported = []


def folded(frame):
    names = []
    while frame is not None:
        code = frame.f_code
        names.append("%s (%s:%d)" % (code.co_qualname, code.co_filename,
                                     code.co_firstlineno))
        frame = frame.f_back
    return ";".join(reversed(names))


def here(name):
    """Report the caller's stack once, then wait for the go."""
    reported.append((name, folded(sys._getframe(1))))


def spin(seconds):
    t = time.perf_counter() + seconds
    while time.perf_counter() < t:
        pass


def leaf():
    here("main")
    go.wait()
    spin(SECONDS)


def middle():
    leaf()


def outer():
    middle()


def worker(n):
    here("thread%d" % n)
    go.wait()
    spin(SECONDS)


# one function per thread: their stacks differ
def worker0():
    worker(0)


def worker1():
    worker(1)


def worker2():
    worker(2)


def generator():
    here("generator")
    go.wait()
    spin(SECONDS)
    yield 1


def consume():
    for _ in generator():
        pass


async def c3():
    here("coroutine")
    while not go.is_set():
        await asyncio.sleep(0.001)
    spin(SECONDS)


async def c2():
    await c3()


async def c1():
    await c2()


def recurse(n):
    if n == 0:
        here("deep")
        go.wait()
        spin(SECONDS)
    else:
        recurse(n - 1)


def nap():
    here("sleep")
    go.wait()
    slept = 0.0
    for _ in range(10):
        t = time.perf_counter()
        time.sleep(SECONDS / 10)
        slept += time.perf_counter() - t
    print("slept %.6f" % slept, flush=True)


def grüße():
    """A name that is not ASCII: profile.bt shows "<non-ASCII>"."""
    here("unicode")
    go.wait()
    spin(SECONDS)


def main():
    threads = []
    if CASE == "threads":
        for target in (worker0, worker1, worker2):
            threads.append(threading.Thread(target=target))
    runner = threading.Thread(target={
        "main": outer, "threads": lambda: None, "nopython": outer,
        "generator": consume, "coroutine": lambda: asyncio.run(c1()),
        "deep": lambda: recurse(50), "sleep": nap, "unicode": grüße}[CASE])
    threads.append(runner)
    for t in threads:
        t.start()
    want = 3 if CASE == "threads" else 1
    while len(reported) < want:
        time.sleep(0.001)
    pyusdt = sys.modules.get("pyusdt")
    print("ready %d %s" % (threading.get_native_id(), pyusdt and
                           pyusdt.state()["stack_threads"]), flush=True)
    for name, stack in reported:
        print("stack %s %s" % (name, stack), flush=True)
    sys.stdin.readline()
    go.set()
    if CASE == "nopython":
        # a thread with a PyThreadState and no Python frame, on CPU in C
        # (sum holds the GIL: the other threads wait meanwhile)
        _thread.start_new_thread(sum, (range(int(SECONDS * 10 ** 8)),))
    for t in threads:
        t.join()


main()

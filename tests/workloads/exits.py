"""Ways for a program to end, one per argv[1]; each calls work() first.

  exit3      sys.exit(3)
  atexit     an atexit handler that calls work() 5 times and prints
  daemon     two daemon threads still calling work() when main ends
  nondaemon  a thread still calling work() for 0.3 s when main ends
  raise      an exception at top level (traceback, status 1)
  keyboard   KeyboardInterrupt at top level (killed by SIGINT)
  osexit     os._exit(7), no atexit, no flush of stdio but ours
  sigterm    killed by SIGTERM
  early      an atexit handler registered before pyusdt is imported (the
             program imports pyusdt itself: run it without the launcher)
  cleared    atexit._clear() (pyusdt's exit hook too: its poller runs on
             while the interpreter finalizes), daemon threads calling work()
  slowexit   two daemon threads calling work(), and an atexit handler that
             prints "exiting", waits for a line on stdin (a tracer attaches
             or detaches meanwhile), calls work() for 0.2 s and prints
             "handler done"
"""
import atexit
import os
import signal
import sys
import threading
import time

MODE = sys.argv[1]


def work(i):
    return i + 1


def handler():
    total = 0
    for i in range(5):
        total += work(i)
    print("handler", total, flush=True)


def spin():
    i = 0
    while True:
        i = work(i)


def slow_handler():
    print("exiting", flush=True)
    sys.stdin.readline()
    busy(0.2)
    print("handler done", flush=True)


def busy(seconds):
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        i = work(i)


if MODE == "early":
    atexit.register(handler)
    import pyusdt  # noqa: F401

for i in range(100):
    work(i)

if MODE == "exit3":
    sys.exit(3)
elif MODE == "atexit":
    atexit.register(handler)
elif MODE == "daemon":
    for _ in range(2):
        threading.Thread(target=spin, daemon=True).start()
    time.sleep(0.05)
elif MODE == "cleared":
    atexit._clear()
    for _ in range(2):
        threading.Thread(target=spin, daemon=True).start()
    time.sleep(0.05)
elif MODE == "slowexit":
    for _ in range(2):
        threading.Thread(target=spin, daemon=True).start()
    atexit.register(slow_handler)
elif MODE == "nondaemon":
    threading.Thread(target=busy, args=(0.3,)).start()
elif MODE == "raise":
    raise ValueError("boom")
elif MODE == "keyboard":
    raise KeyboardInterrupt
elif MODE == "osexit":
    print("main done", flush=True)
    os._exit(7)
elif MODE == "sigterm":
    print("main done", flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
print("main done", flush=MODE == "slowexit")

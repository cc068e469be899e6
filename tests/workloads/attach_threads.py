"""Eight threads calling Python functions, driven over stdin (one JSON
reply per command), for attach/detach stress tests.

Each worker "churns" (calls spin() in bursts) until told to go quiet: then
it makes no Python call at all (it waits in C) until told to run a round
(work() N times) or to churn again.

  state          pyusdt's state plus the events of its tool
  tids           the workers' kernel thread ids
  quiet K        worker K stops churning (answers once it is quiet)
  churn K        worker K churns again
  round K N      worker K calls work() N times
  roundall N     every worker calls work() N times (churning ones go on
                 churning afterwards)
  mem            all workers quiet: garbage collected, RSS and allocated
                 blocks, then all churn again
  exit           stop and join the workers, exit 0
"""
import gc
import queue
import sys
import threading
import time

import pyusdt
from serve import Stop, pyusdt_state, serve

NTHREADS = 8
inboxes = [queue.SimpleQueue() for _ in range(NTHREADS)]
outbox = queue.SimpleQueue()


def spin(x):
    return x


def work(i):
    return i + 1


def worker(k):
    inbox = inboxes[k]
    churning = True
    while True:
        if churning:
            for i in range(200):
                spin(i)
            time.sleep(0.0005)
            if inbox.empty():
                continue
        cmd = inbox.get()
        if cmd[0] == "quiet":
            churning = False
        elif cmd[0] == "churn":
            churning = True
        elif cmd[0] == "round":
            total = 0
            for i in range(cmd[1]):
                total += work(i)
        elif cmd[0] == "stop":
            outbox.put((k, "stop"))
            return
        outbox.put((k, cmd[0]))


def tell(ks, cmd):
    for k in ks:
        inboxes[k].put(cmd)
    for _ in ks:
        outbox.get(timeout=60)


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


threads = [threading.Thread(target=worker, args=(k,))
           for k in range(NTHREADS)]
for t in threads:
    t.start()
ALL = range(NTHREADS)



def quiet_or_churn(what):
    def command(k):
        tell([int(k)], (what,))
        return {what: int(k)}
    return command


def round_(k, n):
    tell([int(k)], ("round", int(n)))
    return {"done": int(n)}


def roundall(n):
    tell(ALL, ("round", int(n)))
    return {"done": int(n)}


def mem():
    tell(ALL, ("quiet",))
    gc.collect()
    seen = {"rss": rss_kib(), "blocks": sys.getallocatedblocks()}
    tell(ALL, ("churn",))
    return seen


def exit_():
    tell(ALL, ("stop",))
    for t in threads:
        t.join()
    raise Stop({"bye": True})


serve({"state": lambda: pyusdt_state(pyusdt),
       "tids": lambda: [t.native_id for t in threads],
       "quiet": quiet_or_churn("quiet"), "churn": quiet_or_churn("churn"),
       "round": round_, "roundall": roundall, "mem": mem, "exit": exit_})

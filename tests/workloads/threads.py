"""4 threads, each calling work() 1000 times."""
import threading


def work(i):
    return i * 2


def loop():
    for i in range(1000):
        work(i)


threads = [threading.Thread(target=loop) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("done")

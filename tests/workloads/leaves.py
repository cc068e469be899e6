"""work() calls leaf() five times, and that is all: few enough events
for a tracer that prints each one (the call hierarchy of CPython's
howto), whose output bpftrace would drop in part on a busy program."""


def leaf(n):
    return n + 1


def work():
    for i in range(5):
        leaf(i)


work()
print("done")

"""One slow call among quick ones (slow.bt): slowpoke() takes 150 ms,
quick() runs 20 times in no time."""
import time

import pyusdt  # noqa: F401  (traced from here on)


def quick():
    return 1


def slowpoke():
    time.sleep(0.15)
    return 2


def main():
    for i in range(20):
        quick()
    slowpoke()
    for i in range(20):
        quick()


main()

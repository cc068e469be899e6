"""Lines with known hit counts (lines.bt): main() calls total() 5 times;
in total(), the "for" line runs 101 times a call, the "t += i" line 100."""


def total(n):
    t = 0
    for i in range(n):
        t += i
    return t


def main():
    for k in range(5):
        total(100)


main()

"""A small program to watch with pyusdt: read orders from a file, price
them (one has no price and raises), and total them."""
import os


def load(path):
    with open(path) as f:
        return [line.split() for line in f]


def price(order):
    name, qty, *rest = order
    if not rest:
        raise ValueError("no price for " + name)
    return int(qty) * int(rest[0])


def total(orders):
    s = 0
    for order in orders:
        try:
            s += price(order)
        except ValueError:
            pass
    return s


def main():
    path = "/tmp/pyusdt-demo-%d.txt" % os.getpid()
    with open(path, "w") as f:
        f.write("apples 2 3\npears 1\nplums 5 7\n")
    print("total:", total(load(path)))
    os.remove(path)


main()

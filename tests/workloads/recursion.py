"""fib(15): 1973 calls of fib, 1972 calls made from fib, 1973 returns."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print(fib(15))

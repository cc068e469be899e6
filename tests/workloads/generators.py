"""Generators: count_up(100) starts once, yields 100 times, resumes 100
times and returns once.  catching() is resumed twice by throw(): it
catches the first exception and yields again, the second unwinds it."""


def count_up(n):
    for i in range(n):
        yield i


def catching():
    try:
        yield 1
    except KeyError:
        yield 2


total = 0
for v in count_up(100):
    total += v
g = catching()
next(g)
g.throw(KeyError)
try:
    g.throw(ValueError)
except ValueError:
    pass
print(total)

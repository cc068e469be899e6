"""thrower(3) raises at depth 0 and the exception unwinds 4 frames; done
10 times: thrower starts 40 times, unwinds 40 times, raises once per
call chain at the raise statement."""


def thrower(depth):
    if depth == 0:
        raise ValueError("deep")
    thrower(depth - 1)


def catcher():
    caught = 0
    for _ in range(10):
        try:
            thrower(3)
        except ValueError:
            caught += 1
    return caught


print(catcher())

"""Every code watcher taken before pyusdt is imported: pyusdt can keep no
names (its cache needs a watcher), so it makes them at each event.
leaf() is called 5 times; the watchers are given back at the end."""
import _testcapi

taken = []
while True:
    try:
        taken.append(_testcapi.add_code_watcher(0))
    except RuntimeError:
        break

import pyusdt  # noqa: E402,F401 (after the watchers are taken)


def leaf(i):
    return i


def main():
    for i in range(5):
        leaf(i)


main()
for w in taken:
    _testcapi.clear_code_watcher(w)
print(len(taken), "code watchers taken")

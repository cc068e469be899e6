"""python3 -m pyusdt: run a program with pyusdt's probes (pyusdt(1))."""

import sys

from pyusdt.cli import main

sys.exit(main())

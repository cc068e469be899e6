"""A program that never imports pyusdt, for pyusdt --attach: it enters
its command loop (serve(), a frame that lives until the end) and waits
for commands, blocked in a read.  "work N" calls work() N times;
"loaded" replies whether pyusdt is loaded and the names of the main
module's globals (an attach must add none); "quit" ends the program
with status 3."""
import sys

from serve import Stop, run_work, serve


def loaded():
    pyusdt = sys.modules.get("pyusdt")
    return {"pyusdt": pyusdt is not None,
            "filter": pyusdt and pyusdt.state()["filter"],
            "globals": sorted(n for n in globals() if not n.startswith("__"))}


def quit_():
    raise Stop({"bye": True})


serve({"work": run_work, "loaded": loaded, "quit": quit_})
sys.exit(3)

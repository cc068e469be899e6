"""What a sys.setprofile profiler sees of C calls when another tool has
CALL events on: argv[1] "plain" (no other tool), "tool" (a pure-Python
sys.monitoring tool with CALL on), or "pyusdt" (pyusdt imported; the test
attaches its CALL probe).  Prints the c_* events the profiler saw."""
import sys

events = []


def prof(frame, event, arg):
    if event.startswith("c_"):
        events.append(event)


mon = sys.monitoring
if sys.argv[1] == "tool":
    mon.use_tool_id(3, "tool")
    mon.register_callback(3, mon.events.CALL, lambda *args: None)
    mon.set_events(3, mon.events.CALL)
elif sys.argv[1] == "pyusdt":
    import pyusdt
    pyusdt.refresh()
sys.setprofile(prof)
len([])
sys.setprofile(None)
print(events)

/* monitor.h - pyusdt's sys.monitoring tool: claim an id, switch events. */
#ifndef PYUSDT_MONITOR_H
#define PYUSDT_MONITOR_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The tool ids tried, in order.  0, 1 and 2 are left to debuggers,
 * coverage and profilers, which use those fixed ids. */
#define PYUSDT_TOOL_IDS {4, 3, 5}

/* Look up sys.monitoring and make the callbacks; no tool id is claimed
 * yet.  Returns 0, or -1 with an exception set. */
int pyusdt_monitor_init(void);

/* Switch on exactly the events of the probes in mask (GIL held): the
 * first probe claims a tool id (when none is free: one warning, nothing
 * on); with no probe, the id is given back a second after the last one
 * was detached (at the first call from then on). */
void pyusdt_monitor_apply(unsigned int mask);

/* Whether the id is due to be given back (no GIL needed: a hint for the
 * poller, which then calls pyusdt_monitor_apply(0) with the GIL). */
int pyusdt_monitor_release_due(void);

/* Whether pyusdt still owns the tool id it holds; if another tool took
 * it, stop using it (one warning).  GIL held. */
int pyusdt_monitor_check(void);

/* Switch everything off and give the tool id back (at exit), unless
 * another tool took it. */
void pyusdt_monitor_release(void);

/* sys.monitoring.restart_events(): locations that a callback DISABLEd,
 * pyusdt's and every other tool's, get their events again.  0, or -1
 * with an exception set. */
int pyusdt_monitor_restart_events(void);

int pyusdt_monitor_tool_id(void);
unsigned int pyusdt_monitor_enabled(void);

/* Report state changes on stderr (PYUSDT_VERBOSE=1). */
void pyusdt_monitor_set_verbose(int verbose);

#endif /* PYUSDT_MONITOR_H */

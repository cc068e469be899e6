/* probetab.h - names of pyusdt's probes and the sys.monitoring events
 * they need.  No Python API: the event bits are looked up by name at run
 * time, since their values belong to each CPython version. */
#ifndef PYUSDT_PROBETAB_H
#define PYUSDT_PROBETAB_H

#include <stddef.h>

#include "pyusdt-probes.h"

/* The probe's name, which is also its sys.monitoring event's name; NULL
 * for a number out of range. */
const char *pyusdt_probe_name(int probe);

/* The name of CPython's probe number probe (enum pyusdt_python_probe):
 * "function__entry", ...; NULL out of range. */
const char *pyusdt_python_probe_name(int probe);

/* The events (bits of pyusdt's probes) that the probes of attached, a
 * mask of pyusdt_attached(), need switched on: a probe of pyusdt its own
 * event, a probe of CPython's the events it fires from, unless its bit is
 * in interpreter (the interpreter fires that probe itself). */
unsigned int pyusdt_events_for(unsigned int attached,
                               unsigned int interpreter);

/* Write the names of the probes in mask, comma-separated, in probe order
 * ("" for 0).  Returns the length, or -1 if len is too small. */
int pyusdt_mask_format(unsigned int mask, char *out, size_t len);

#endif /* PYUSDT_PROBETAB_H */

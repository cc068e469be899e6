/* callbacks.h - the sys.monitoring callbacks that fire pyusdt's probes. */
#ifndef PYUSDT_CALLBACKS_H
#define PYUSDT_CALLBACKS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Remember sys.monitoring.MISSING (a new reference is kept). */
void pyusdt_callbacks_set_missing(PyObject *missing);

/* A new callable for the probe's event (METH_FASTCALL, no tuple per
 * event), or NULL with an exception set. */
PyObject *pyusdt_callback_new(int probe);

#endif /* PYUSDT_CALLBACKS_H */

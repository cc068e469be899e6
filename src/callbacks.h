/* callbacks.h - the sys.monitoring callbacks that fire pyusdt's probes. */
#ifndef PYUSDT_CALLBACKS_H
#define PYUSDT_CALLBACKS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Remember sys.monitoring.MISSING and DISABLE (new references are
 * kept). */
void pyusdt_callbacks_set_missing(PyObject *missing, PyObject *disable);

/* CPython's probes (PYUSDT_PYTHON_BIT) that the interpreter fires
 * itself: the callbacks do not fire pyusdt's copies of those. */
void pyusdt_callbacks_set_interpreter_fires(unsigned int mask);

/* Forget what was cached about code objects (when the last probe is
 * detached): an untraced program keeps nothing of pyusdt's. */
void pyusdt_callbacks_forget(void);

/* A new callable for the probe's event (an object with its own
 * vectorcall function: no tuple, no argument checks per event), or NULL
 * with an exception set. */
PyObject *pyusdt_callback_new(int probe);

#endif /* PYUSDT_CALLBACKS_H */

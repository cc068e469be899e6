/* setfilter.h - pyusdt.set_filter() and PYUSDT_FILTER. */
#ifndef PYUSDT_SETFILTER_H
#define PYUSDT_SETFILTER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* pyusdt.set_filter(patterns): a METH_O function of the module. */
PyObject *pyusdt_set_filter(PyObject *module, PyObject *patterns);
extern const char pyusdt_set_filter_doc[];

/* The filter of PYUSDT_FILTER, at import (GIL held): one warning line on
 * standard error for a bad one. */
void pyusdt_filter_from_environment(void);

#endif /* PYUSDT_SETFILTER_H */

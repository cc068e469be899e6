/* setfilter.c - pyusdt.set_filter() and PYUSDT_FILTER: the filter of
 * filter.c, set from Python or the environment. */
#include "config.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>

#include "filter.h"
#include "monitor.h"
#include "setfilter.h"

const char pyusdt_set_filter_doc[] =
"set_filter(patterns)\n\n"
"Fire probes only for code that matches one of patterns, a string of\n"
"comma-separated fnmatch patterns: one without '/' matches a function's\n"
"name or qualified name ('work', 'Engine.*'), one with '/' its file\n"
"('*/myapp/*').  None or '' removes the filter.  Code outside it costs\n"
"nothing once seen: its local events are DISABLEd for pyusdt's tool.  A\n"
"change calls sys.monitoring.restart_events(), which gives every tool's\n"
"DISABLEd locations their events back.  A malformed or over-long filter\n"
"writes one warning line and leaves no filter.";

/* Set the filter and start every location afresh: those DISABLEd under
 * the old filter may pass the new one. */
static int
set_and_restart(const char *text)
{
    char warn[256];
    int r = pyusdt_filter_set(text, warn, sizeof(warn));

    if (r < 0) {
        PySys_WriteStderr("%s\n", warn);
    }
    return pyusdt_monitor_restart_events();
}

PyObject *
pyusdt_set_filter(PyObject *module, PyObject *patterns)
{
    const char *text = NULL;

    if (patterns != Py_None) {
        if (!PyUnicode_Check(patterns)) {
            PyErr_Format(PyExc_TypeError, "set_filter() takes a str or "
                         "None, not %.100s", Py_TYPE(patterns)->tp_name);
            return NULL;
        }
        text = PyUnicode_AsUTF8(patterns);
        if (text == NULL) {
            return NULL;
        }
    }
    if (set_and_restart(text) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

void
pyusdt_filter_from_environment(void)
{
    const char *text = getenv("PYUSDT_FILTER");

    if (text != NULL && *text != '\0' && set_and_restart(text) < 0) {
        PyErr_Clear();
    }
}

/* module.c - pyusdt._pyusdt: setup, the state API, exit and fork hooks.
 *
 * Import claims a sys.monitoring tool id, switches on the events of the
 * probes already attached (so a tracer started first loses nothing) and
 * starts the poller.  Nothing else runs until a tracer attaches.
 */
#include "config.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callbacks.h"
#include "forksites.h"
#include "monitor.h"
#include "poller.h"
#include "pynotes.h"
#include "restart.h"
#include "probetab.h"
#include "pyusdt-probes.h"
#include "setfilter.h"
#include "settings.h"
#include "stacklayout.h"
#include "filter.h"

#if PY_VERSION_HEX < 0x030C0000
#error "pyusdt needs Python 3.12 or later (sys.monitoring)"
#endif

static struct {
    int initialized;
    int exited;          /* the exit hook ran: stay off for good */
    long check_msec;
    long verbose;
    long stack_tls;         /* PYUSDT_STACK_TLS: 0 walks the thread list */
    const char *no_stacks;  /* why Python stacks cannot be read, or NULL */
    unsigned int interpreter_fires;  /* CPython's probes it fires itself */
} setup;

/* Switch on the events the attached probes need (pyusdt_attached()). */
static void
apply_attached(unsigned int attached)
{
    pyusdt_monitor_apply(pyusdt_events_for(attached,
                                           setup.interpreter_fires));
}

static void
start_poller(void)
{
    if (setup.exited) {
        return;
    }
    if (pyusdt_poller_start((int)setup.check_msec, pyusdt_monitor_enabled(),
                            apply_attached, pyusdt_stack_layout_announce,
                            pyusdt_monitor_release_due) < 0) {
        PySys_WriteStderr("pyusdt: cannot start the poller thread (%s); "
                          "probes attached later are not seen\n",
                          strerror(errno));
    }
}

/* The name of bit i of a mask of pyusdt_attached(): a probe of pyusdt's,
 * or "python:NAME" for CPython's. */
static PyObject *
name_of_bit(int i)
{
    if (i < PYUSDT_NPROBES) {
        return PyUnicode_FromString(pyusdt_probe_name(i));
    }
    return PyUnicode_FromFormat(
        "python:%s", pyusdt_python_probe_name(i - PYUSDT_PYTHON_SHIFT));
}

static int
is_probe_bit(int i)
{
    return i < PYUSDT_NPROBES
        || (i >= PYUSDT_PYTHON_SHIFT
            && i < PYUSDT_PYTHON_SHIFT + PYUSDT_NPYTHON);
}

static PyObject *
names_of(unsigned int mask)
{
    PyObject *list = PyList_New(0);

    for (int i = 0; list != NULL && i < 32; i++) {
        if ((mask & (1u << i)) && is_probe_bit(i)) {
            PyObject *s = name_of_bit(i);
            if (s == NULL || PyList_Append(list, s) < 0) {
                Py_XDECREF(s);
                Py_CLEAR(list);
                break;
            }
            Py_DECREF(s);
        }
    }
    if (list == NULL) {
        return NULL;
    }
    PyObject *t = PyList_AsTuple(list);
    Py_DECREF(list);
    return t;
}

static const char *
library_path(void)
{
    Dl_info info;

    if (dladdr((void *)pyusdt_attached, &info) && info.dli_fname) {
        return info.dli_fname;
    }
    return "";
}

PyDoc_STRVAR(state_doc,
"state() -> dict\n\n"
"pyusdt's state now: 'attached' (probes a tracer is attached to, read from\n"
"their semaphores), 'enabled' (probes whose sys.monitoring events are on),\n"
"'tool_id' (None while no probe is attached, or when no id was free),\n"
"'check_msec', 'verbose', 'poller'\n"
"(whether the poller thread runs), 'library' (the probe library),\n"
"'stack_layout' (whether a tracer is attached to STACK_LAYOUT),\n"
"'no_stacks' (why Python stacks cannot be read here, or None),\n"
"'stack_threads' (how scripts find a thread's PyThreadState: 'tls', or\n"
"'list' for the interpreter's thread list; None without stacks),\n"
"'filter' (the filter set, or None) and\n"
"'interpreter_fires' (CPython's probes that the interpreter fires itself,\n"
"which pyusdt leaves to it).  CPython's probes read 'python:NAME'.");

static PyObject *
state(PyObject *module, PyObject *unused)
{
    PyObject *tool = pyusdt_monitor_tool_id() < 0
        ? Py_NewRef(Py_None) : PyLong_FromLong(pyusdt_monitor_tool_id());
    PyObject *attached = names_of(pyusdt_attached());
    PyObject *enabled = names_of(pyusdt_monitor_enabled());
    PyObject *fires = names_of(setup.interpreter_fires);
    PyObject *d = NULL;

    if (tool && attached && enabled && fires) {
        d = Py_BuildValue("{sOsOsOslsOsOsssOszszszsO}",
                          "attached", attached, "enabled", enabled,
                          "tool_id", tool, "check_msec", setup.check_msec,
                          "verbose", setup.verbose ? Py_True : Py_False,
                          "poller", pyusdt_poller_running() ? Py_True
                                                            : Py_False,
                          "library", library_path(),
                          "stack_layout", pyusdt_STACK_LAYOUT_semaphore
                                          ? Py_True : Py_False,
                          "no_stacks", setup.no_stacks,
                          "stack_threads", pyusdt_stack_layout_threads(),
                          "filter", pyusdt_filter_text(),
                          "interpreter_fires", fires);
    }
    Py_XDECREF(tool);
    Py_XDECREF(attached);
    Py_XDECREF(enabled);
    Py_XDECREF(fires);
    return d;
}

PyDoc_STRVAR(refresh_doc,
"refresh() -> dict\n\n"
"Read the semaphores now and switch events to match, without waiting for\n"
"the poller; returns state().");

static PyObject *
refresh(PyObject *module, PyObject *unused)
{
    if (!setup.exited) {
        pyusdt_monitor_check();
        apply_attached(pyusdt_attached());
    }
    return state(module, NULL);
}

/* atexit: runs before finalization, while the poller may still take the
 * GIL safely; after it pyusdt stays off.  Also _pyusdt._finish(), which the
 * launcher calls at exit before it stops its bpftrace, so that the stop is
 * not traced. */
PyDoc_STRVAR(finish_doc,
"_finish()\n\n"
"Switch pyusdt off for good in this process, as at exit: events off, the\n"
"tool id given back, the poller stopped.");

static PyObject *
at_exit(PyObject *module, PyObject *unused)
{
    setup.exited = 1;
    pyusdt_poller_stop();
    pyusdt_monitor_release();
    Py_RETURN_NONE;
}

static PyObject *
before_fork(PyObject *module, PyObject *unused)
{
    pyusdt_poller_stop();
    Py_RETURN_NONE;
}

static PyObject *
after_fork_parent(PyObject *module, PyObject *unused)
{
    pyusdt_restart_in_parent(start_poller, !setup.exited);
    Py_RETURN_NONE;
}

static PyObject *
after_fork_child(PyObject *module, PyObject *unused)
{
    pyusdt_restart_forget();
    pyusdt_poller_forget();
    start_poller();
    Py_RETURN_NONE;
}

static PyMethodDef hook_defs[] = {
    {"_at_exit", at_exit, METH_NOARGS, NULL},
    {"_before_fork", before_fork, METH_NOARGS, NULL},
    {"_after_fork_parent", after_fork_parent, METH_NOARGS, NULL},
    {"_after_fork_child", after_fork_child, METH_NOARGS, NULL},
};

#define N_HOOKS ((int)(sizeof(hook_defs) / sizeof(hook_defs[0])))

/* module.attr(*args, **kwargs) with the hooks made from hook_defs. */
static int
register_hooks(PyObject *module)
{
    PyObject *f[N_HOOKS] = {NULL};
    PyObject *r1 = NULL, *r2 = NULL, *kw = NULL, *empty = NULL;
    int ok = -1;

    for (int i = 0; i < N_HOOKS; i++) {
        if ((f[i] = PyCFunction_New(&hook_defs[i], module)) == NULL) {
            goto done;
        }
    }
    PyObject *atexit = PyImport_ImportModule("atexit");
    if (atexit == NULL) {
        goto done;
    }
    r1 = PyObject_CallMethod(atexit, "register", "O", f[0]);
    Py_DECREF(atexit);
    if (r1 == NULL) {
        goto done;
    }
    PyObject *os = PyImport_ImportModule("os");
    if (os == NULL) {
        goto done;
    }
    PyObject *reg = PyObject_GetAttrString(os, "register_at_fork");
    Py_DECREF(os);
    if (reg == NULL) {
        goto done;
    }
    kw = Py_BuildValue("{sOsOsO}", "before", f[1], "after_in_parent", f[2],
                       "after_in_child", f[3]);
    empty = PyTuple_New(0);
    if (kw && empty) {
        r2 = PyObject_Call(reg, empty, kw);
    }
    Py_DECREF(reg);
    ok = r2 ? 0 : -1;
done:
    for (int i = 0; i < N_HOOKS; i++) {
        Py_XDECREF(f[i]);
    }
    Py_XDECREF(r1);
    Py_XDECREF(r2);
    Py_XDECREF(kw);
    Py_XDECREF(empty);
    return ok;
}

static void
read_knob(const struct pyusdt_knob *k, long *out)
{
    char warn[512];

    if (pyusdt_knob_value(k, getenv(k->var), out, warn, sizeof(warn)) < 0) {
        PySys_WriteStderr("%s\n", warn);
    }
}

static int
add_constants(PyObject *module)
{
    PyObject *probes = names_of((1u << PYUSDT_NPROBES) - 1);
    PyObject *python = PyTuple_New(PYUSDT_NPYTHON);
    int r = probes ? PyModule_AddObjectRef(module, "PROBES", probes) : -1;

    for (int i = 0; python != NULL && i < PYUSDT_NPYTHON; i++) {
        PyObject *s = PyUnicode_FromString(pyusdt_python_probe_name(i));
        if (s == NULL) {
            Py_CLEAR(python);
            break;
        }
        PyTuple_SET_ITEM(python, i, s);
    }
    if (r == 0) {
        /* CPython's probes (provider "python") that pyusdt can fire */
        r = python ? PyModule_AddObjectRef(module, "PYTHON_PROBES", python)
                   : -1;
    }
    Py_XDECREF(probes);
    Py_XDECREF(python);
    if (r < 0) {
        return -1;
    }
    if (PyModule_AddStringConstant(module, "__version__",
                                   PACKAGE_VERSION) < 0
        || PyModule_AddStringConstant(module, "LIBRARY",
                                      library_path()) < 0
        || PyModule_AddIntConstant(module, "PROBE_ABI",
                                   pyusdt_probe_abi()) < 0) {
        return -1;
    }
    return 0;
}

static int
pyusdt_exec(PyObject *module)
{
    if (add_constants(module) < 0) {
        return -1;
    }
    if (setup.initialized) {
        return 0;    /* imported again after del sys.modules[...] */
    }
    read_knob(&pyusdt_knob_check_msec, &setup.check_msec);
    read_knob(&pyusdt_knob_verbose, &setup.verbose);
    read_knob(&pyusdt_knob_stack_tls, &setup.stack_tls);
    pyusdt_monitor_set_verbose((int)setup.verbose);
    if (pyusdt_monitor_init() < 0 || register_hooks(module) < 0) {
        return -1;
    }
    pyusdt_filter_from_environment();
    setup.initialized = 1;
    setup.interpreter_fires = pyusdt_interpreter_python_probes();
    pyusdt_callbacks_set_interpreter_fires(setup.interpreter_fires);
    pyusdt_restart_init();
    pyusdt_fork_sites_watch();
    /* a tracer attached before the import: events on and the stack layout
     * told before we return */
    apply_attached(pyusdt_attached());
    (void)pyusdt_stack_layout_init((int)setup.stack_tls, &setup.no_stacks);
    pyusdt_stack_layout_announce();
    start_poller();
    return 0;
}

static PyMethodDef methods[] = {
    {"state", state, METH_NOARGS, state_doc},
    {"refresh", refresh, METH_NOARGS, refresh_doc},
    {"set_filter", pyusdt_set_filter, METH_O, pyusdt_set_filter_doc},
    {"_finish", at_exit, METH_NOARGS, finish_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, pyusdt_exec},
    /* one process-wide poller and tool: the main interpreter only */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
    {0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pyusdt._pyusdt",
    .m_doc = "USDT probes for sys.monitoring events (see pyusdt(7)).",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC PyInit__pyusdt(void);

PyMODINIT_FUNC
PyInit__pyusdt(void)
{
    return PyModuleDef_Init(&moduledef);
}

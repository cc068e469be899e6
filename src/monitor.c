/* monitor.c - switch sys.monitoring events on and off for pyusdt's tool.
 *
 * use_tool_id, register_callback and set_events are slow, so they run only
 * when the set of attached probes changes, never per event.  The tool id
 * is held only while some probe is attached.  Every call
 * here runs with the GIL held (import, the poller's state change, exit).
 */
#include "config.h"

#include <time.h>

#include "callbacks.h"
#include "monitor.h"
#include "probetab.h"

static struct {
    PyObject *sys_monitoring;             /* the sys.monitoring module */
    /* its functions, looked up once: a call through PyObject_CallMethod
     * makes a new name string each time */
    PyObject *register_callback, *set_events, *free_tool_id, *get_tool;
    PyObject *name;                       /* "pyusdt" */
    int tool_id;                          /* -1: none claimed */
    long event_bit[PYUSDT_NPROBES];       /* sys.monitoring.events.X */
    PyObject *callback[PYUSDT_NPROBES];
    unsigned int enabled;                 /* probes whose events are on */
    int warned_no_id;                     /* since the last detach */
    long idle_since_ms;                   /* all detached since, or 0 */
    int verbose;
} mon = {.tool_id = -1};

/* How long the id is kept once every probe is detached.  A tracer that
 * attaches and detaches over and over (probe by probe, or a script run in
 * a loop) then does not make CPython take the id and free it each time:
 * with threads running code meanwhile, that left CPython's heap a little
 * larger every cycle (about one block per cycle, measured). */
#define PYUSDT_ID_KEEP_MS 1000

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
pyusdt_monitor_tool_id(void)
{
    return mon.tool_id;
}

unsigned int
pyusdt_monitor_enabled(void)
{
    return mon.enabled;
}

void
pyusdt_monitor_set_verbose(int verbose)
{
    mon.verbose = verbose;
}

static int
lookup_events(void)
{
    PyObject *events = PyObject_GetAttrString(mon.sys_monitoring, "events");

    if (events == NULL) {
        return -1;
    }
    for (int i = 0; i < PYUSDT_NPROBES; i++) {
        PyObject *bit = PyObject_GetAttrString(events, pyusdt_probe_name(i));
        if (bit == NULL) {
            Py_DECREF(events);
            return -1;
        }
        mon.event_bit[i] = PyLong_AsLong(bit);
        Py_DECREF(bit);
        if (mon.event_bit[i] == -1 && PyErr_Occurred()) {
            Py_DECREF(events);
            return -1;
        }
    }
    Py_DECREF(events);
    return 0;
}

/* Claim the first free id of PYUSDT_TOOL_IDS: use_tool_id raises
 * ValueError when one is taken.  Returns 0, or -1 (no id free: one
 * warning until the probes are detached; the exception of another
 * failure is cleared). */
static int
claim_tool_id(void)
{
    static const int ids[] = PYUSDT_TOOL_IDS;

    for (size_t i = 0; i < Py_ARRAY_LENGTH(ids); i++) {
        PyObject *r = PyObject_CallMethod(mon.sys_monitoring, "use_tool_id",
                                          "iO", ids[i], mon.name);
        if (r != NULL) {
            Py_DECREF(r);
            mon.tool_id = ids[i];
            return 0;
        }
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) {
            break;
        }
        PyErr_Clear();
    }
    PyErr_Clear();
    if (!mon.warned_no_id) {
        PySys_WriteStderr("pyusdt: no free sys.monitoring tool id "
                          "(3, 4 and 5 are taken); probes stay inactive\n");
        mon.warned_no_id = 1;
    }
    return -1;
}

/* Give the id back.  3.12 and 3.13 keep the events and callbacks of a
 * freed id: the caller switched them off first, so the id is really free
 * for another tool. */
static void
free_tool_id(void)
{
    PyObject *r = PyObject_CallFunction(mon.free_tool_id, "i",
                                        mon.tool_id);
    if (r == NULL) {
        PyErr_Clear();
    }
    Py_XDECREF(r);
    mon.tool_id = -1;
}

int
pyusdt_monitor_init(void)
{
    PyObject *missing, *disable;

    if (mon.sys_monitoring != NULL) {
        return 0;    /* the module was imported again */
    }
    mon.sys_monitoring = PySys_GetObject("monitoring");   /* borrowed */
    if (mon.sys_monitoring == NULL) {
        PyErr_SetString(PyExc_ImportError,
                        "pyusdt needs sys.monitoring (Python 3.12 or later)");
        return -1;
    }
    Py_INCREF(mon.sys_monitoring);
    if (lookup_events() < 0) {
        return -1;
    }
    mon.name = PyUnicode_InternFromString("pyusdt");
    mon.register_callback = PyObject_GetAttrString(mon.sys_monitoring,
                                                   "register_callback");
    mon.set_events = PyObject_GetAttrString(mon.sys_monitoring, "set_events");
    mon.free_tool_id = PyObject_GetAttrString(mon.sys_monitoring,
                                              "free_tool_id");
    mon.get_tool = PyObject_GetAttrString(mon.sys_monitoring, "get_tool");
    if (mon.name == NULL || mon.register_callback == NULL
        || mon.set_events == NULL || mon.free_tool_id == NULL
        || mon.get_tool == NULL) {
        return -1;
    }
    missing = PyObject_GetAttrString(mon.sys_monitoring, "MISSING");
    disable = PyObject_GetAttrString(mon.sys_monitoring, "DISABLE");
    if (missing == NULL || disable == NULL) {
        Py_XDECREF(missing);
        Py_XDECREF(disable);
        return -1;
    }
    pyusdt_callbacks_set_missing(missing, disable);
    Py_DECREF(missing);
    Py_DECREF(disable);
    for (int i = 0; i < PYUSDT_NPROBES; i++) {
        mon.callback[i] = pyusdt_callback_new(i);
        if (mon.callback[i] == NULL) {
            return -1;
        }
    }
    /* no tool id yet: one is claimed when a probe is attached */
    return 0;
}

static void
register_callback(int probe, PyObject *func)
{
    PyObject *r = PyObject_CallFunction(mon.register_callback, "ilO",
                                        mon.tool_id, mon.event_bit[probe],
                                        func);
    if (r == NULL) {
        PyErr_Clear();
    }
    Py_XDECREF(r);
}

static void
set_events(unsigned int mask)
{
    long events = 0;

    for (int i = 0; i < PYUSDT_NPROBES; i++) {
        if (mask & (1u << i)) {
            events |= mon.event_bit[i];
        }
    }
    PyObject *r = PyObject_CallFunction(mon.set_events, "il", mon.tool_id,
                                        events);
    if (r == NULL) {
        PyErr_Clear();
    }
    Py_XDECREF(r);
}

static void
report(unsigned int mask)
{
    char names[256];

    if (!mon.verbose) {
        return;
    }
    if (mask == 0) {
        PySys_WriteStderr("pyusdt: all events off\n");
    }
    else if (pyusdt_mask_format(mask, names, sizeof(names)) >= 0) {
        PySys_WriteStderr("pyusdt: events on: %s\n", names);
    }
}

/* Whether the tool id is still pyusdt's: a program may free it
 * (sys.monitoring.free_tool_id) and give it to another tool, whose events
 * and callbacks pyusdt must then leave alone.  Asked before each change
 * and by refresh(), never per event. */
static int
owned(void)
{
    PyObject *owner = PyObject_CallFunction(mon.get_tool, "i", mon.tool_id);
    int ours = owner != NULL && PyUnicode_Check(owner)
               && PyUnicode_Compare(owner, mon.name) == 0;

    Py_XDECREF(owner);
    PyErr_Clear();
    return ours;
}

/* When the id is lost, pyusdt stays inactive, with one warning. */
static int
still_ours(void)
{
    if (owned()) {
        return 1;
    }
    PySys_WriteStderr("pyusdt: sys.monitoring tool id %d is no longer "
                      "pyusdt's; pyusdt leaves it to its new owner\n",
                      mon.tool_id);
    mon.tool_id = -1;
    mon.enabled = 0;
    return 0;
}

int
pyusdt_monitor_check(void)
{
    PyObject *exc;
    int ours;

    if (mon.tool_id < 0) {
        return 0;
    }
    exc = PyErr_GetRaisedException();
    ours = still_ours();
    PyErr_SetRaisedException(exc);
    return ours;
}

/* Switch the events of mask on and the others off; the callbacks first,
 * then the events: no event ever finds no callback. */
static void
switch_events(unsigned int mask)
{
    unsigned int on = mask & ~mon.enabled;
    unsigned int off = mon.enabled & ~mask;

    for (int i = 0; i < PYUSDT_NPROBES; i++) {
        if (on & (1u << i)) {
            register_callback(i, mon.callback[i]);
        }
    }
    set_events(mask);
    for (int i = 0; i < PYUSDT_NPROBES; i++) {
        if (off & (1u << i)) {
            register_callback(i, Py_None);
        }
    }
    mon.enabled = mask;
}

/* Give the id back once every probe has been detached for
 * PYUSDT_ID_KEEP_MS (or at once with force). */
static void
release_if_idle(int force)
{
    if (mon.tool_id < 0 || mon.enabled != 0 || mon.idle_since_ms == 0
        || (!force && now_ms() - mon.idle_since_ms < PYUSDT_ID_KEEP_MS)) {
        return;
    }
    mon.idle_since_ms = 0;
    free_tool_id();
    pyusdt_callbacks_forget();
}

int
pyusdt_monitor_release_due(void)
{
    /* read without the GIL: a hint, checked again under it */
    return mon.tool_id >= 0 && mon.enabled == 0 && mon.idle_since_ms != 0
           && now_ms() - mon.idle_since_ms >= PYUSDT_ID_KEEP_MS;
}

/* pyusdt holds a tool id only while a probe is attached: a program that
 * is not traced finds every id it would find without pyusdt.  The first
 * attached probe claims one; once the last one is detached, its events
 * are off at once and the id is given back PYUSDT_ID_KEEP_MS later. */
void
pyusdt_monitor_apply(unsigned int mask)
{
    PyObject *exc;

    if (mask == 0) {
        mon.warned_no_id = 0;    /* warn again at the next attach */
    }
    if (mask == mon.enabled) {
        if (mask == 0) {
            exc = PyErr_GetRaisedException();
            release_if_idle(0);
            PyErr_SetRaisedException(exc);
        }
        return;
    }
    exc = PyErr_GetRaisedException();
    if (mon.tool_id >= 0) {
        /* an id another tool took over is left to it (one warning);
         * another is claimed below */
        still_ours();
    }
    if (mask != 0 && mon.tool_id < 0 && claim_tool_id() < 0) {
        PyErr_SetRaisedException(exc);
        return;
    }
    if (mon.tool_id >= 0) {
        switch_events(mask);
        mon.idle_since_ms = mask == 0 ? now_ms() : 0;
        report(mask);
    }
    PyErr_SetRaisedException(exc);
}

int
pyusdt_monitor_restart_events(void)
{
    PyObject *r;

    if (mon.sys_monitoring == NULL) {
        return 0;
    }
    r = PyObject_CallMethod(mon.sys_monitoring, "restart_events", NULL);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

void
pyusdt_monitor_release(void)
{
    if (mon.tool_id < 0) {
        return;
    }
    if (!owned()) {
        /* taken by another tool: its events and id are not ours */
        PyErr_Clear();
        mon.tool_id = -1;
        mon.enabled = 0;
        pyusdt_callbacks_forget();
        return;
    }
    pyusdt_monitor_apply(0);
    release_if_idle(1);
}

/* restart.c - the poller started again in the parent of a fork, after
 * os.fork() has returned.
 *
 * Python 3.13 counts the threads of the parent for its "This process is
 * multi-threaded" DeprecationWarning after the after_in_parent hooks ran:
 * a poller started by a hook would be counted, and every os.fork() would
 * warn.  So when the main thread forks, the poller starts from a pending
 * call, which the main thread runs at its next bytecode boundary once
 * os.fork() has returned.  A pending call may also run in a Python
 * after_in_parent hook of another module (logging has one), that is, while
 * os.fork() still runs: the frame that called os.fork(), still at the same
 * instruction below the running frame, tells that case, and the call is
 * put off again.  A fork from any other thread warns anyway (that thread
 * counts): the poller starts at once then.
 */
#include "config.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "restart.h"

static struct {
    void (*start)(void);    /* what starts the poller */
    int pending;            /* a pending call will start it */
} restart;

static struct {
    PyFrameObject *frame;    /* identity only: no reference kept */
    int lasti;
} forked_at;

static int
inside_fork(void)
{
    PyFrameObject *top = PyThreadState_GetFrame(PyThreadState_Get());
    PyFrameObject *f = top ? PyFrame_GetBack(top) : NULL;
    int inside = 0;

    while (f != NULL && forked_at.frame != NULL && top != forked_at.frame) {
        PyFrameObject *back;
        if (f == forked_at.frame) {
            inside = PyFrame_GetLasti(f) == forked_at.lasti;
            break;
        }
        back = PyFrame_GetBack(f);
        Py_DECREF(f);
        f = back;
    }
    Py_XDECREF(f);
    Py_XDECREF(top);
    return inside;
}

static int
restart_poller(void *unused)
{
    (void)unused;
    if (inside_fork() && Py_AddPendingCall(restart_poller, NULL) == 0) {
        return 0;
    }
    restart.pending = 0;
    forked_at.frame = NULL;
    restart.start();
    return 0;
}

/* _thread._get_main_thread_ident, looked up at import (3.13+; NULL on
 * 3.12): a fork hook imports nothing, so no import hook of the program
 * runs because of pyusdt. */
static PyObject *main_thread_ident;

void
pyusdt_restart_init(void)
{
    PyObject *mod = PyImport_ImportModule("_thread");

    main_thread_ident = mod ? PyObject_GetAttrString(
        mod, "_get_main_thread_ident") : NULL;
    Py_XDECREF(mod);
    PyErr_Clear();
}

/* Whether this is the thread that runs pending calls (the main thread);
 * -1 if that cannot be told. */
static int
in_main_thread(void)
{
    PyObject *id = main_thread_ident
        ? PyObject_CallNoArgs(main_thread_ident) : NULL;
    int r = -1;

    if (id != NULL) {
        unsigned long main_id = PyLong_AsUnsignedLong(id);
        if (!(main_id == (unsigned long)-1 && PyErr_Occurred())) {
            r = main_id == PyThread_get_thread_ident();
        }
    }
    PyErr_Clear();
    Py_XDECREF(id);
    return r;
}

void
pyusdt_restart_in_parent(void (*start)(void), int deferrable)
{
    if (restart.pending) {
        return;
    }
    if (deferrable && in_main_thread() == 1) {
        PyFrameObject *f = PyThreadState_GetFrame(PyThreadState_Get());
        forked_at.frame = f;
        forked_at.lasti = f ? PyFrame_GetLasti(f) : -1;
        Py_XDECREF(f);
        restart.start = start;
        if (Py_AddPendingCall(restart_poller, NULL) == 0) {
            restart.pending = 1;
            return;
        }
        forked_at.frame = NULL;
    }
    start();
}

void
pyusdt_restart_forget(void)
{
    /* A pending restart of the parent may have been copied into the
     * child's queue: it finds the poller running and does nothing. */
    restart.pending = 0;
    forked_at.frame = NULL;
}

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
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "monitor.h"
#include "poller.h"
#include "probetab.h"
#include "pyusdt-probes.h"
#include "settings.h"
#include "stacklayout.h"

#if PY_VERSION_HEX < 0x030C0000
#error "pyusdt needs Python 3.12 or later (sys.monitoring)"
#endif

static struct {
    int initialized;
    int exited;          /* the exit hook ran: stay off for good */
    int restart_pending; /* a pending call will start the poller */
    long check_msec;
    long verbose;
    const char *no_stacks;  /* why Python stacks cannot be read, or NULL */
} setup;

static void
on_change(unsigned int mask)
{
    pyusdt_monitor_apply(mask);
}

static void
start_poller(void)
{
    if (setup.exited) {
        return;
    }
    if (pyusdt_poller_start((int)setup.check_msec, pyusdt_monitor_enabled(),
                            on_change, pyusdt_stack_layout_announce,
                            pyusdt_monitor_release_due) < 0) {
        PySys_WriteStderr("pyusdt: cannot start the poller thread (%s); "
                          "probes attached later are not seen\n",
                          strerror(errno));
    }
}

static PyObject *
names_of(unsigned int mask)
{
    int n = 0;
    PyObject *t;

    for (int i = 0; i < PYUSDT_NPROBES; i++) {
        n += (mask >> i) & 1u;
    }
    t = PyTuple_New(n);
    if (t == NULL) {
        return NULL;
    }
    n = 0;
    for (int i = 0; i < PYUSDT_NPROBES; i++) {
        if (mask & (1u << i)) {
            PyObject *s = PyUnicode_FromString(pyusdt_probe_name(i));
            if (s == NULL) {
                Py_DECREF(t);
                return NULL;
            }
            PyTuple_SET_ITEM(t, n++, s);
        }
    }
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
"'stack_layout' (whether a tracer is attached to STACK_LAYOUT) and\n"
"'no_stacks' (why Python stacks cannot be read here, or None).");

static PyObject *
state(PyObject *module, PyObject *unused)
{
    PyObject *tool = pyusdt_monitor_tool_id() < 0
        ? Py_NewRef(Py_None) : PyLong_FromLong(pyusdt_monitor_tool_id());
    PyObject *attached = names_of(pyusdt_attached());
    PyObject *enabled = names_of(pyusdt_monitor_enabled());
    PyObject *d = NULL;

    if (tool && attached && enabled) {
        d = Py_BuildValue("{sOsOsOslsOsOsssOsz}",
                          "attached", attached, "enabled", enabled,
                          "tool_id", tool, "check_msec", setup.check_msec,
                          "verbose", setup.verbose ? Py_True : Py_False,
                          "poller", pyusdt_poller_running() ? Py_True
                                                            : Py_False,
                          "library", library_path(),
                          "stack_layout", pyusdt_STACK_LAYOUT_semaphore
                                          ? Py_True : Py_False,
                          "no_stacks", setup.no_stacks);
    }
    Py_XDECREF(tool);
    Py_XDECREF(attached);
    Py_XDECREF(enabled);
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
        pyusdt_monitor_apply(pyusdt_attached());
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

/* Python 3.13 counts the threads of the parent for its "This process is
 * multi-threaded" DeprecationWarning after the after_in_parent hooks ran:
 * a poller started by a hook would be counted, and every os.fork() would
 * warn.  So when the main thread forks, the poller starts from a pending
 * call, which the main thread runs at its next bytecode boundary once
 * os.fork() has returned.  A pending call may also run in a Python
 * after_in_parent hook of another module (logging has one), that is, while
 * os.fork() still runs: the frame that called os.fork(), still at the same
 * instruction below the running frame, tells that case, and the call is
 * put off again.  A fork from any other thread warns anyway (that thread
 * counts): the poller starts at once then. */
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
    setup.restart_pending = 0;
    forked_at.frame = NULL;
    start_poller();
    return 0;
}

/* _thread._get_main_thread_ident, looked up at import (3.13+; NULL on
 * 3.12): a fork hook imports nothing, so no import hook of the program
 * runs because of pyusdt. */
static PyObject *main_thread_ident;

static void
find_main_thread_ident(void)
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

static PyObject *
after_fork_parent(PyObject *module, PyObject *unused)
{
    if (setup.restart_pending) {
        Py_RETURN_NONE;
    }
    if (!setup.exited && in_main_thread() == 1) {
        PyFrameObject *f = PyThreadState_GetFrame(PyThreadState_Get());
        forked_at.frame = f;
        forked_at.lasti = f ? PyFrame_GetLasti(f) : -1;
        Py_XDECREF(f);
        if (Py_AddPendingCall(restart_poller, NULL) == 0) {
            setup.restart_pending = 1;
            Py_RETURN_NONE;
        }
        forked_at.frame = NULL;
    }
    start_poller();
    Py_RETURN_NONE;
}

static PyObject *
after_fork_child(PyObject *module, PyObject *unused)
{
    /* A pending restart of the parent may have been copied into the
     * child's queue: it finds the poller running and does nothing. */
    setup.restart_pending = 0;
    forked_at.frame = NULL;
    pyusdt_poller_forget();
    start_poller();
    Py_RETURN_NONE;
}

/* Children of a traced process, with 5-byte nop probe sites.
 *
 * Linux 6.18 turns a uprobe on a 5-byte nop into a call to a trampoline in
 * a "[uprobes-trampoline]" mapping once the probe is hit.  fork(2) copies
 * the patched code into the child but not that mapping: the child's first
 * probe hit jumps to an unmapped page and the child dies of SIGSEGV (a
 * multiprocessing worker forked from a traced program, for one).
 *
 * So in the child of any fork (os.fork, multiprocessing, or fork(2) from C:
 * this is a pthread_atfork handler, which runs before any code of the
 * child), each probe site that is neither its nop nor the kernel's
 * breakpoint on it (int3 followed by the rest of the nop) gets that
 * breakpoint back: the child is then exactly as the kernel leaves a child
 * of a program with unoptimized uprobes.  A tracer that traces the child
 * too (system-wide) handles the breakpoint, one that does not (by the
 * parent's PID) removes it and lowers the child's semaphore.
 *
 * The sites are found by comparing the code with a copy taken at import,
 * before any site can have been hit (a site is patched on its first hit):
 * a site differs from the copy only where the kernel patched it.  If a
 * site cannot be restored so, the child's code pages are dropped (it gets
 * the file's plain nops back) and its semaphores zeroed: no tracer attached
 * before the fork sees the child then, but it lives. */
#ifdef PYUSDT_PROBE_NOP5
#define PROBE_TEXT_MAX 65536

static struct {
    uintptr_t start;
    size_t len;
    unsigned char *copy;    /* the code at import */
} probe_text;

static const unsigned char nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
static const unsigned char int3_nop5[5] = {0xcc, 0x1f, 0x44, 0x00, 0x00};

static int
find_probe_text(struct dl_phdr_info *info, size_t size, void *data)
{
    uintptr_t site = (uintptr_t)data;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    (void)size;

    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        uintptr_t hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)
            && site >= lo && site < hi) {
            lo &= ~(page - 1);
            hi = (hi + page - 1) & ~(page - 1);
            probe_text.start = lo;
            probe_text.len = hi - lo;
            return 1;
        }
    }
    return 0;
}

/* Put the breakpoint back at the site at offset i (see above): a
 * compare-and-swap of its first byte to int3, then the rest of the nop.
 * Whatever the kernel does meanwhile is kept: if it restored the nop
 * before the swap, the swap fails; if after, it wrote the same tail.
 * (The child has one thread: only the kernel can change the code.)
 * 0 if the site is a nop or a breakpoint afterwards. */
static int
restore_site(size_t i)
{
    unsigned char *site = (unsigned char *)probe_text.start + i;
    unsigned char seen = __atomic_load_n(site, __ATOMIC_SEQ_CST);

    if (seen == nop5[0]) {
        return 0;
    }
    if (seen != int3_nop5[0]
        && !__atomic_compare_exchange_n(site, &seen, int3_nop5[0], 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        return seen == nop5[0] || seen == int3_nop5[0] ? 0 : -1;
    }
    for (int k = 1; k < 5; k++) {
        __atomic_store_n(site + k, int3_nop5[k], __ATOMIC_SEQ_CST);
    }
    return 0;
}

static void
probes_after_fork_child(void)
{
    const unsigned char *code = (const unsigned char *)probe_text.start;
    int writable = 0, failed = 0;

    if (probe_text.copy == NULL || pyusdt_attached() == 0) {
        return;    /* no tracer attached: nothing was patched */
    }
    for (size_t i = 0; i + 5 <= probe_text.len; i++) {
        const unsigned char *orig = probe_text.copy + i;
        if ((memcmp(orig, nop5, 5) != 0 && memcmp(orig, int3_nop5, 5) != 0)
            || (memcmp(code + i, nop5, 5) == 0
                || memcmp(code + i, int3_nop5, 5) == 0)) {
            continue;
        }
        if (!writable) {
            if (mprotect((void *)probe_text.start, probe_text.len,
                         PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
                failed = 1;
                break;
            }
            writable = 1;
        }
        if (restore_site(i) != 0) {
            failed = 1;
        }
        i += 4;
    }
    if (writable) {
        (void)mprotect((void *)probe_text.start, probe_text.len,
                       PROT_READ | PROT_EXEC);
    }
    if (failed) {
        (void)madvise((void *)probe_text.start, probe_text.len,
                      MADV_DONTNEED);
        pyusdt_semaphores_clear();
    }
}

static void
watch_forks_of_probes(void)
{
    dl_iterate_phdr(find_probe_text, (void *)pyusdt_fire_py_start);
    if (probe_text.len == 0 || probe_text.len > PROBE_TEXT_MAX
        || (probe_text.copy = malloc(probe_text.len)) == NULL) {
        return;
    }
    memcpy(probe_text.copy, (const void *)probe_text.start, probe_text.len);
    pthread_atfork(NULL, NULL, probes_after_fork_child);
}
#else
static void
watch_forks_of_probes(void)
{
}
#endif

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

    int r = probes ? PyModule_AddObjectRef(module, "PROBES", probes) : -1;

    Py_XDECREF(probes);
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
    pyusdt_monitor_set_verbose((int)setup.verbose);
    if (pyusdt_monitor_init() < 0 || register_hooks(module) < 0) {
        return -1;
    }
    setup.initialized = 1;
    find_main_thread_ident();
    watch_forks_of_probes();
    /* a tracer attached before the import: events on and the stack layout
     * told before we return */
    pyusdt_monitor_apply(pyusdt_attached());
    (void)pyusdt_stack_layout_init(&setup.no_stacks);
    pyusdt_stack_layout_announce();
    start_poller();
    return 0;
}

static PyMethodDef methods[] = {
    {"state", state, METH_NOARGS, state_doc},
    {"refresh", refresh, METH_NOARGS, refresh_doc},
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

/* callbacks.c - sys.monitoring callbacks: read the code object, fire.
 *
 * A callback is registered only while its probe is attached.  It returns
 * None whatever happens (a NULL return would inject an exception into the
 * traced program), but for code outside the filter (filter.h): there a
 * local event returns DISABLE, which silences that location until the
 * filter changes (pyusdt then calls sys.monitoring.restart_events()).
 *
 * This is the hot path of a traced program, so:
 * - each callback is an object with its own vectorcall function: CPython
 *   calls it directly, without the argument checks and recursion guard of
 *   a builtin function (a METH_FASTCALL builtin costs a few more
 *   instructions per event for nothing);
 * - the names of a code object are looked up once: their UTF-8 pointers
 *   are kept beside the code object (codecache.c), so an event costs one
 *   look-up instead of three conversions;
 * - the instruction offset and the line are read inline from the int;
 * - nothing is done when the probe's semaphore is down (the poller has
 *   not switched the event off yet);
 * - the frame is small: only value probes have a buffer (the repr).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callbacks.h"
#include "codecache.h"
#include "filter.h"
#include "probetab.h"
#include "pyusdt-probes.h"
#include "repr.h"

#if defined(__GNUC__)
#define PYUSDT_INLINE static inline __attribute__((always_inline))
#define PYUSDT_COLD static __attribute__((noinline, cold))
#define PYUSDT_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define PYUSDT_INLINE static inline
#define PYUSDT_COLD static
#define PYUSDT_LIKELY(x) (x)
#endif

static PyObject *missing;   /* sys.monitoring.MISSING */
static PyObject *disable;   /* sys.monitoring.DISABLE */

/* CPython's probes that the interpreter fires itself (PYUSDT_PYTHON_BIT):
 * pyusdt does not fire those. */
static unsigned int interpreter_fires;

void
pyusdt_callbacks_set_interpreter_fires(unsigned int mask)
{
    interpreter_fires = mask;
}

/* What the probes say about a code object, cached beside it.  The strings
 * are the UTF-8 of the code object's own str objects (which this holds a
 * reference to, so the pointers stay valid) or escaped copies stored
 * right after the struct for names that are not valid UTF-8. */
struct codeinfo {
    const char *name;
    const char *file;
    const char *qualname;
    const char *location;   /* "QUALNAME (FILE:FIRSTLINE)" */
    int firstline;
    PyObject *fileobj;      /* co_filename when cached (strong reference) */
    PyObject *nameobj;      /* co_name (strong reference) */
    PyObject *qualobj;      /* co_qualname (strong reference) */
    unsigned int filter_generation;     /* of the verdict: */
    int passes;             /* whether the code passes the filter */
};

/* Anything but a code object (MISSING, a code-like object of another
 * implementation) reads as "<missing>", line 0. */
static struct codeinfo no_code = {
    "<missing>", "<missing>", "<missing>", "<missing> (<missing>:0)", 0,
    NULL, NULL, NULL, 0, 0
};

static void
free_codeinfo(void *p)
{
    struct codeinfo *ci = p;

    if (ci != NULL) {
        Py_XDECREF(ci->fileobj);
        Py_XDECREF(ci->nameobj);
        Py_XDECREF(ci->qualobj);
        free(ci);
    }
}

void
pyusdt_callbacks_forget(void)
{
    pyusdt_codecache_clear();
}

void
pyusdt_callbacks_set_missing(PyObject *m, PyObject *d)
{
    Py_XINCREF(m);
    Py_XSETREF(missing, m);
    Py_XINCREF(d);
    Py_XSETREF(disable, d);
}

/* For the rare case where nothing can be cached (no code watcher free,
 * no memory): names are converted into these buffers on every event.  The
 * GIL is held and no callback runs inside another (code run by a callback
 * fires no events), so one set of buffers is enough. */
static struct {
    struct codeinfo ci;
    char name[PYUSDT_NAME_MAX];
    char file[PYUSDT_NAME_MAX];
    char qual[PYUSDT_NAME_MAX];
    char location[2 * PYUSDT_NAME_MAX + 16];
} uncached;

static const char *
own_copy(const char *s, const char *buf, char **tail)
{
    size_t n;

    if (s != buf) {
        return s;      /* the str's own UTF-8, or a literal */
    }
    n = strlen(s) + 1;
    memcpy(*tail, s, n);
    s = *tail;
    *tail += n;
    return s;
}

/* The names of uncached, with its location made of them: what an event
 * gets when they cannot be kept. */
static struct codeinfo *
uncached_info(PyCodeObject *co)
{
    /* (cut, at worst) */
    snprintf(uncached.location, sizeof(uncached.location), "%s (%s:%d)",
             uncached.ci.qualname, uncached.ci.file, co->co_firstlineno);
    uncached.ci.location = uncached.location;
    return &uncached.ci;
}

/* First event of a code object (or co_filename was replaced): look its
 * names up and keep them with it. */
PYUSDT_COLD struct codeinfo *
code_info_slow(PyCodeObject *co)
{
    struct codeinfo *ci;
    size_t extra_len = 0, location_len;
    char *tail;

    uncached.ci.name = pyusdt_name_utf8(co->co_name, uncached.name,
                                        sizeof(uncached.name));
    uncached.ci.file = pyusdt_name_utf8(co->co_filename, uncached.file,
                                        sizeof(uncached.file));
    uncached.ci.qualname = pyusdt_name_utf8(co->co_qualname, uncached.qual,
                                            sizeof(uncached.qual));
    uncached.ci.firstline = co->co_firstlineno;
    /* no verdict yet */
    uncached.ci.filter_generation = pyusdt_filter_generation - 1;
    if (uncached.ci.name == uncached.name) {
        extra_len += strlen(uncached.name) + 1;
    }
    if (uncached.ci.file == uncached.file) {
        extra_len += strlen(uncached.file) + 1;
    }
    if (uncached.ci.qualname == uncached.qual) {
        extra_len += strlen(uncached.qual) + 1;
    }
    location_len = strlen(uncached.ci.qualname) + strlen(uncached.ci.file)
                   + 32;
    extra_len += location_len;
    /* malloc, not PyMem: tracemalloc shows the program only its own
     * allocations */
    ci = malloc(sizeof(*ci) + extra_len);
    if (ci == NULL) {
        return uncached_info(co);
    }
    tail = (char *)(ci + 1);
    ci->name = own_copy(uncached.ci.name, uncached.name, &tail);
    ci->file = own_copy(uncached.ci.file, uncached.file, &tail);
    ci->qualname = own_copy(uncached.ci.qualname, uncached.qual, &tail);
    snprintf(tail, location_len, "%s (%s:%d)", ci->qualname, ci->file,
             co->co_firstlineno);
    ci->location = tail;
    ci->firstline = co->co_firstlineno;
    ci->fileobj = Py_XNewRef(co->co_filename);
    ci->nameobj = Py_XNewRef(co->co_name);
    ci->qualobj = Py_XNewRef(co->co_qualname);
    ci->filter_generation = pyusdt_filter_generation - 1;
    /* (an older value, for an older co_filename, is freed) */
    if (pyusdt_codecache_put((PyObject *)co, ci) < 0) {
        free_codeinfo(ci);
        return uncached_info(co);
    }
    return ci;
}

PYUSDT_INLINE struct codeinfo *
code_info(PyObject *code)
{
    if (PYUSDT_LIKELY(code != NULL && PyCode_Check(code))) {
        PyCodeObject *co = (PyCodeObject *)code;
        struct codeinfo *ci = pyusdt_codecache_get(code);
        /* co_filename is the one name CPython replaces in place (when a
         * .pyc is loaded from another directory): check it is the one
         * cached */
        if (PYUSDT_LIKELY(ci != NULL)
            && PYUSDT_LIKELY(ci->fileobj == co->co_filename)) {
            return ci;
        }
        return code_info_slow(co);
    }
    return &no_code;
}

/* The filter's verdict on the code, taken once per code object and
 * filter. */
PYUSDT_COLD int
code_passes_slow(struct codeinfo *ci)
{
    ci->passes = pyusdt_filter_match(ci->name, ci->qualname, ci->file);
    ci->filter_generation = pyusdt_filter_generation;
    return ci->passes;
}

PYUSDT_INLINE int
code_passes(struct codeinfo *ci)
{
    if (PYUSDT_LIKELY(!pyusdt_filter_on)) {
        return 1;
    }
    if (PYUSDT_LIKELY(ci->filter_generation == pyusdt_filter_generation)) {
        return ci->passes;
    }
    return code_passes_slow(ci);
}

PYUSDT_COLD int
int_arg_slow(PyObject *o)
{
    long v;

    if (o == NULL || !PyLong_Check(o)) {
        return 0;
    }
    v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return (int)v;
}

/* An instruction offset or a line number: a small int, read inline. */
PYUSDT_INLINE int
int_arg(PyObject *o)
{
    if (PYUSDT_LIKELY(o != NULL && PyLong_CheckExact(o)
                      && PyUnstable_Long_IsCompact((PyLongObject *)o))) {
        return (int)PyUnstable_Long_CompactValue((PyLongObject *)o);
    }
    return int_arg_slow(o);
}

#define ARG(i) ((i) < nargs ? args[(i)] : NULL)

/* Whether CPython's probe NAME is to be fired: a tracer is attached to
 * it, and the interpreter does not fire it itself. */
#define PYTHON_ON(NAME) \
    (*pyusdt_python_semaphore[PYUSDT_PYTHON_##NAME] \
     && !(interpreter_fires & PYUSDT_PYTHON_BIT(NAME)))

/* The line CPython 3.11 gave its probes: the line of the instruction at
 * offset (in bytes, as sys.monitoring passes it and dis shows it). */
static int
line_at(PyObject *code, PyObject *offset)
{
    if (code == NULL || !PyCode_Check(code)) {
        return 0;
    }
    return PyCode_Addr2Line((PyCodeObject *)code, int_arg(offset));
}

/* CPython's probe of an event (the PYTHON column of PYUSDT_FOR_EACH_PROBE)
 * and how it fires. */
#define PYTHON_ON_NONE 0
#define PYTHON_ON_ENTRY_FIRST PYTHON_ON(function__entry)
#define PYTHON_ON_ENTRY_AT PYTHON_ON(function__entry)
#define PYTHON_ON_RETURN_AT PYTHON_ON(function__return)
#define PYTHON_ON_LINE PYTHON_ON(line)
#define PYTHON_FIRE_NONE
#define PYTHON_FIRE_ENTRY_FIRST \
    pyusdt_fire_python_function_entry(ci->file, ci->name, ci->firstline)
#define PYTHON_FIRE_ENTRY_AT \
    pyusdt_fire_python_function_entry(ci->file, ci->name, \
                                      line_at(ARG(0), ARG(1)))
#define PYTHON_FIRE_RETURN_AT \
    pyusdt_fire_python_function_return(ci->file, ci->name, \
                                       line_at(ARG(0), ARG(1)))
#define PYTHON_FIRE_LINE \
    pyusdt_fire_python_line(ci->file, ci->name, int_arg(ARG(1)))

/* A callback: when the probe's semaphore is up, look the code object up
 * and run FIRE, which fires the probe with what the event passes; then
 * CPython's probe of the event, PYTHON.  Code outside the filter fires
 * nothing, and a local event is not called there again. */
#define CALLBACK_WITH(NAME, FIRE, PYTHON) \
    static PyObject * \
    cb_##NAME(PyObject *self, PyObject *const *args, size_t nargsf, \
              PyObject *kwnames) \
    { \
        int own = pyusdt_##NAME##_semaphore != 0; \
        int python = PYTHON_ON_##PYTHON; \
        if (own || python) { \
            Py_ssize_t nargs = PyVectorcall_NARGS(nargsf); \
            struct codeinfo *ci = code_info(ARG(0)); \
            if (!code_passes(ci)) { \
                if ((PYUSDT_LOCAL_EVENTS & PYUSDT_BIT(NAME)) \
                    && disable != NULL) { \
                    return Py_NewRef(disable); \
                } \
                Py_RETURN_NONE; \
            } \
            if (own) { \
                FIRE; \
            } \
            if (python) { \
                PYTHON_FIRE_##PYTHON; \
            } \
        } \
        Py_RETURN_NONE; \
    }

/* ENTRY: (code, instruction_offset). */
#define CALLBACK_ENTRY(NAME, fire, PYTHON) \
    CALLBACK_WITH(NAME, pyusdt_fire_##fire(ci->name, ci->file, \
                                           ci->firstline, int_arg(ARG(1)), \
                                           ci->qualname, ci->location), \
                  PYTHON)

/* VALUE: (code, instruction_offset, value): the return value, the yielded
 * value, the callable (CALL passes arg0 after it), or the exception.
 * arg4 of the probe is the value's bounded repr. */
#define CALLBACK_VALUE(NAME, fire, PYTHON) \
    CALLBACK_WITH(NAME, fire_value(pyusdt_fire_##fire, ci, ARG(1), ARG(2)), \
                  PYTHON)

/* LINE: (code, line_number). */
#define CALLBACK_LINE(NAME, fire, PYTHON) \
    CALLBACK_WITH(NAME, pyusdt_fire_##fire(ci->name, ci->file, \
                                           int_arg(ARG(1)), ci->qualname, \
                                           ci->location), PYTHON)

typedef void (*value_fire_fn) PYUSDT_FIRE_ARGS_VALUE;

/* Inlined: the repr buffer lives in the callback's frame only. */
PYUSDT_INLINE void
fire_value(value_fire_fn fire, const struct codeinfo *ci, PyObject *offset,
           PyObject *v)
{
    char rbuf[PYUSDT_REPR_MAX];
    const char *text = (v == NULL || v == missing)
        ? "<missing>" : pyusdt_repr_text(v, rbuf, sizeof(rbuf));

    fire(ci->name, ci->file, ci->firstline, int_arg(offset), text,
         ci->qualname);
}

#define CALLBACK(NAME, fire, KIND, PYTHON) \
    CALLBACK_##KIND(NAME, fire, PYTHON)
PYUSDT_FOR_EACH_PROBE(CALLBACK)
#undef CALLBACK

static const vectorcallfunc callback_fns[PYUSDT_NPROBES] = {
#define CALLBACK_ITEM(NAME, fire, KIND, PYTHON) [PYUSDT_##NAME] = cb_##NAME,
    PYUSDT_FOR_EACH_PROBE(CALLBACK_ITEM)
#undef CALLBACK_ITEM
};

/* The callable registered with sys.monitoring: an object whose vectorcall
 * slot is the probe's callback. */
struct callback {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    int probe;
};

static PyObject *
callback_repr(PyObject *self)
{
    return PyUnicode_FromFormat(
        "<pyusdt callback for %s>",
        pyusdt_probe_name(((struct callback *)self)->probe));
}

static void
callback_dealloc(PyObject *self)
{
    PyObject_Free(self);
}

static PyTypeObject callback_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyusdt._pyusdt.callback",
    .tp_doc = "pyusdt's callback for one sys.monitoring event",
    .tp_basicsize = sizeof(struct callback),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL
                | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_vectorcall_offset = offsetof(struct callback, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = callback_repr,
    .tp_dealloc = callback_dealloc,
};

PyObject *
pyusdt_callback_new(int probe)
{
    struct callback *cb;

    if (probe < 0 || probe >= PYUSDT_NPROBES) {
        PyErr_SetString(PyExc_ValueError, "no such probe");
        return NULL;
    }
    if (PyType_Ready(&callback_type) < 0) {
        return NULL;
    }
    pyusdt_codecache_set_free(free_codeinfo);
    cb = PyObject_New(struct callback, &callback_type);
    if (cb == NULL) {
        return NULL;
    }
    cb->vectorcall = callback_fns[probe];
    cb->probe = probe;
    return (PyObject *)cb;
}

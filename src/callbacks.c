/* callbacks.c - sys.monitoring callbacks: read the code object, fire.
 *
 * A callback is registered only while its probe is attached.  It returns
 * None whatever happens: a NULL return would inject an exception into the
 * traced program, and DISABLE would silence the location for good.
 */
#include "config.h"

#include "callbacks.h"
#include "probetab.h"
#include "pyusdt-probes.h"
#include "repr.h"

static PyObject *missing;   /* sys.monitoring.MISSING */

struct codeinfo {
    const char *name;
    const char *file;
    const char *qualname;
    int firstline;
    /* used only for names that are not valid UTF-8; 3 KiB in all keeps
     * the frame under a page (no stack-clash probes per event) */
    char namebuf[PYUSDT_NAME_MAX];
    char filebuf[PYUSDT_NAME_MAX];
    char qualbuf[PYUSDT_NAME_MAX];
};

void
pyusdt_callbacks_set_missing(PyObject *m)
{
    Py_XINCREF(m);
    Py_XSETREF(missing, m);
}

/* Anything but a code object (MISSING, a code-like object of another
 * implementation) reads as "<missing>", line 0. */
static void
code_info(PyObject *code, struct codeinfo *ci)
{
    if (code == NULL || !PyCode_Check(code)) {
        ci->name = ci->file = ci->qualname = "<missing>";
        ci->firstline = 0;
        return;
    }
    PyCodeObject *co = (PyCodeObject *)code;
    ci->name = pyusdt_name_utf8(co->co_name, ci->namebuf,
                                sizeof(ci->namebuf));
    ci->file = pyusdt_name_utf8(co->co_filename, ci->filebuf,
                                sizeof(ci->filebuf));
    ci->qualname = pyusdt_name_utf8(co->co_qualname, ci->qualbuf,
                                    sizeof(ci->qualbuf));
    ci->firstline = co->co_firstlineno;
}

static int
int_arg(PyObject *o)
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

#define ARG(i) ((i) < nargs ? args[(i)] : NULL)

typedef void (*entry_fire_fn)(const char *, const char *, int, int,
                              const char *);
typedef void (*value_fire_fn)(const char *, const char *, int, int,
                              const char *, const char *);

static void
fire_entry(entry_fire_fn fire, PyObject *const *args, Py_ssize_t nargs)
{
    struct codeinfo ci;

    code_info(ARG(0), &ci);
    fire(ci.name, ci.file, ci.firstline, int_arg(ARG(1)), ci.qualname);
}

/* arg4 of the probe is the repr of the callback's argument `valuearg`. */
static void
fire_value(value_fire_fn fire, PyObject *const *args, Py_ssize_t nargs,
           Py_ssize_t valuearg)
{
    struct codeinfo ci;
    char rbuf[PYUSDT_REPR_MAX];
    struct pyusdt_buf b;
    PyObject *v = ARG(valuearg);

    code_info(ARG(0), &ci);
    pyusdt_buf_init(&b, rbuf, sizeof(rbuf));
    if (v == NULL || v == missing) {
        pyusdt_buf_puts(&b, "<missing>");
    }
    else {
        pyusdt_repr(v, &b);
    }
    fire(ci.name, ci.file, ci.firstline, int_arg(ARG(1)),
         pyusdt_buf_finish(&b), ci.qualname);
}

/* LINE: (code, line_number). */
static PyObject *
cb_line(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (pyusdt_LINE_semaphore) {
        struct codeinfo ci;
        code_info(ARG(0), &ci);
        pyusdt_fire_line(ci.name, ci.file, int_arg(ARG(1)), ci.qualname);
    }
    Py_RETURN_NONE;
}

/* PY_START, PY_RESUME: (code, instruction_offset). */
#define ENTRY_CALLBACK(probe, fire) \
    static PyObject * \
    cb_##probe(PyObject *self, PyObject *const *args, Py_ssize_t nargs) \
    { \
        if (pyusdt_##probe##_semaphore) { \
            fire_entry(fire, args, nargs); \
        } \
        Py_RETURN_NONE; \
    }

/* (code, instruction_offset, value): the return value, the yielded value,
 * the callable (CALL passes arg0 after it), or the exception. */
#define VALUE_CALLBACK(probe, fire) \
    static PyObject * \
    cb_##probe(PyObject *self, PyObject *const *args, Py_ssize_t nargs) \
    { \
        if (pyusdt_##probe##_semaphore) { \
            fire_value(fire, args, nargs, 2); \
        } \
        Py_RETURN_NONE; \
    }

ENTRY_CALLBACK(PY_START, pyusdt_fire_py_start)
ENTRY_CALLBACK(PY_RESUME, pyusdt_fire_py_resume)
VALUE_CALLBACK(PY_RETURN, pyusdt_fire_py_return)
VALUE_CALLBACK(PY_YIELD, pyusdt_fire_py_yield)
VALUE_CALLBACK(CALL, pyusdt_fire_call)
VALUE_CALLBACK(PY_UNWIND, pyusdt_fire_py_unwind)
VALUE_CALLBACK(PY_THROW, pyusdt_fire_py_throw)
VALUE_CALLBACK(RAISE, pyusdt_fire_raise)

#define DEF(probe, fn) \
    [PYUSDT_##probe] = {"pyusdt_" #probe, (PyCFunction)(void (*)(void))fn, \
                        METH_FASTCALL, "pyusdt's " #probe " callback"}

static PyMethodDef callback_defs[PYUSDT_NPROBES] = {
    DEF(PY_START, cb_PY_START),
    DEF(PY_RESUME, cb_PY_RESUME),
    DEF(PY_RETURN, cb_PY_RETURN),
    DEF(PY_YIELD, cb_PY_YIELD),
    DEF(CALL, cb_CALL),
    DEF(LINE, cb_line),
    DEF(PY_UNWIND, cb_PY_UNWIND),
    DEF(PY_THROW, cb_PY_THROW),
    DEF(RAISE, cb_RAISE),
};

PyObject *
pyusdt_callback_new(int probe)
{
    if (probe < 0 || probe >= PYUSDT_NPROBES) {
        PyErr_SetString(PyExc_ValueError, "no such probe");
        return NULL;
    }
    return PyCFunction_New(&callback_defs[probe], NULL);
}

/* repr.c - bounded, side-effect-free repr of Python values.
 *
 * Why not PyObject_Repr(): a user's __repr__ may be slow, raise, mutate
 * state, release the GIL or print, and a repr of a 10-million-element list
 * or a 100 MB string costs time proportional to its size.  A tracer must
 * not change the program, so only types whose repr we write ourselves (or
 * whose C repr is known to be cheap and pure) are shown by value.
 */
#include "config.h"

#include <string.h>

#include "repr.h"

static void repr_obj(PyObject *o, struct pyusdt_buf *b, int depth);

/* A small int (the common case) written straight from the object. */
static inline int
put_compact(struct pyusdt_buf *b, PyObject *o)
{
    return pyusdt_buf_long(b, (long long)PyUnstable_Long_CompactValue(
                           (PyLongObject *)o));
}

#define IS_COMPACT_INT(o) \
    (PyLong_CheckExact(o) && PyUnstable_Long_IsCompact((PyLongObject *)(o)))

/* Writes a str object's text (no quotes) as a name: UTF-8, surrogates
 * escaped. */
static void
write_name(PyObject *s, struct pyusdt_buf *b)
{
    if (s == NULL || !PyUnicode_Check(s)) {
        pyusdt_buf_puts(b, "?");
        return;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    const void *data = PyUnicode_DATA(s);

    if (PyUnicode_IS_ASCII(s)) {
        /* ASCII is its own UTF-8: what fits, in one copy */
        size_t left = pyusdt_buf_room(b);
        if ((size_t)n <= left) {
            pyusdt_buf_append(b, data, (size_t)n);
        }
        else {
            memcpy(b->data + b->len, data, left);
            b->len += left;
            b->truncated = 1;
        }
        return;
    }
    int kind = PyUnicode_KIND(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (pyusdt_buf_name_char(b, PyUnicode_READ(kind, data, i)) < 0) {
            return;
        }
    }
}

/* module.qualname for classes defined in Python, tp_name for static types,
 * as object.__repr__ and type.__repr__ name them (builtins left out). */
static void
type_name(PyTypeObject *t, struct pyusdt_buf *b)
{
    static PyObject *module_key;    /* interned "__module__" */

    if (!(t->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        pyusdt_buf_puts(b, t->tp_name);
        return;
    }
    PyHeapTypeObject *ht = (PyHeapTypeObject *)t;
    PyObject *mod = NULL;

    if (module_key == NULL) {
        module_key = PyUnicode_InternFromString("__module__");
    }
    if (module_key != NULL && t->tp_dict != NULL
        && PyDict_CheckExact(t->tp_dict)) {
        /* a borrowed reference; the key is an interned exact str */
        mod = PyDict_GetItemWithError(t->tp_dict, module_key);
    }
    PyErr_Clear();
    if (mod != NULL && PyUnicode_CheckExact(mod)
        && PyUnicode_CompareWithASCIIString(mod, "builtins") != 0) {
        write_name(mod, b);
        pyusdt_buf_puts(b, ".");
    }
    if (ht->ht_qualname && PyUnicode_CheckExact(ht->ht_qualname)) {
        write_name(ht->ht_qualname, b);
    }
    else {
        pyusdt_buf_puts(b, t->tp_name);
    }
}

/* The default form: <module.Type object at 0x...>. */
static void
repr_default(PyObject *o, struct pyusdt_buf *b)
{
    pyusdt_buf_puts(b, "<");
    type_name(Py_TYPE(o), b);
    pyusdt_buf_puts(b, " object at ");
    pyusdt_buf_hex(b, (uintptr_t)o);
    pyusdt_buf_puts(b, ">");
}

/* Characters of an ASCII str that repr() writes as they are (the quote
 * aside). */
static const unsigned char ascii_plain[128] = {
#define P16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
    P16(0), P16(0),                                 /* controls */
    P16(1), P16(1), P16(1),                         /* 0x20 - 0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x5c is \ */
    P16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x7f is DEL */
#undef P16
};

/* repr() of an ASCII str: runs of plain characters in one copy each. */
static void
repr_ascii(const unsigned char *s, Py_ssize_t n, char quote,
           struct pyusdt_buf *b)
{
    Py_ssize_t i = 0;

    while (i < n) {
        size_t left = pyusdt_buf_room(b);
        Py_ssize_t end = i + ((size_t)(n - i) < left ? n - i
                                                     : (Py_ssize_t)left);
        Py_ssize_t j = i;
        while (j < end && ascii_plain[s[j]] && s[j] != (unsigned char)quote) {
            j++;
        }
        memcpy(b->data + b->len, s + i, (size_t)(j - i));
        b->len += (size_t)(j - i);
        if (j >= n) {
            return;
        }
        if (ascii_plain[s[j]] && s[j] != (unsigned char)quote) {
            b->truncated = 1;   /* a plain character that did not fit */
            return;
        }
        if (pyusdt_buf_repr_char(b, s[j], quote, 1) < 0) {
            return;
        }
        i = j + 1;
    }
}

static void
repr_str(PyObject *o, struct pyusdt_buf *b)
{
    int kind = PyUnicode_KIND(o);
    const void *data = PyUnicode_DATA(o);
    Py_ssize_t n = PyUnicode_GET_LENGTH(o);
    /* Only what can fit is read, so a 100 MB string costs as little as a
     * short one; the quote is chosen from that part, as repr() would. */
    Py_ssize_t look = n < (Py_ssize_t)b->cap ? n : (Py_ssize_t)b->cap;
    int squote = 0, dquote = 0;
    char quote;

    if (PyUnicode_IS_ASCII(o)) {
        squote = memchr(data, '\'', (size_t)look) != NULL;
        dquote = memchr(data, '"', (size_t)look) != NULL;
        quote = (squote && !dquote) ? '"' : '\'';
        pyusdt_buf_append(b, &quote, 1);
        repr_ascii(data, n, quote, b);
        pyusdt_buf_append(b, &quote, 1);
        return;
    }
    for (Py_ssize_t i = 0; i < look; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        squote |= (c == '\'');
        dquote |= (c == '"');
    }
    quote = (squote && !dquote) ? '"' : '\'';
    pyusdt_buf_append(b, &quote, 1);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (pyusdt_buf_repr_char(b, c, quote, Py_UNICODE_ISPRINTABLE(c)) < 0) {
            return;
        }
    }
    pyusdt_buf_append(b, &quote, 1);
}

static void
repr_bytes(const char *s, Py_ssize_t n, struct pyusdt_buf *b)
{
    Py_ssize_t look = n < (Py_ssize_t)b->cap ? n : (Py_ssize_t)b->cap;
    int squote = memchr(s, '\'', (size_t)look) != NULL;
    int dquote = memchr(s, '"', (size_t)look) != NULL;
    char quote = (squote && !dquote) ? '"' : '\'';

    pyusdt_buf_puts(b, "b");
    pyusdt_buf_append(b, &quote, 1);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (pyusdt_buf_repr_byte(b, (unsigned char)s[i], quote) < 0) {
            return;
        }
    }
    pyusdt_buf_append(b, &quote, 1);
}

static void
repr_int(PyObject *o, struct pyusdt_buf *b)
{
    int overflow;
    long long v;

    if (PyUnstable_Long_IsCompact((PyLongObject *)o)) {
        put_compact(b, o);
        return;
    }
    v = PyLong_AsLongLongAndOverflow(o, &overflow);

    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        repr_default(o, b);
        return;
    }
    if (!overflow) {
        pyusdt_buf_long(b, v);
        return;
    }
    /* Up to 2**1024 the decimal text is at most 309 digits: cheap.  Past
     * that, converting costs time quadratic in the size (and raises past
     * sys.get_int_max_str_digits()), so say what it is instead. */
    (void)PyLong_AsDouble(o);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        pyusdt_buf_puts(b, "<int too large to show>");
        return;
    }
    PyObject *r = PyObject_Repr(o);
    const char *s = r ? PyUnicode_AsUTF8(r) : NULL;
    if (s != NULL) {
        pyusdt_buf_puts(b, s);
    }
    else {
        PyErr_Clear();
        repr_default(o, b);
    }
    Py_XDECREF(r);
}

static void
repr_float(PyObject *o, struct pyusdt_buf *b)
{
    char *s = PyOS_double_to_string(PyFloat_AS_DOUBLE(o), 'r', 0,
                                    Py_DTSF_ADD_DOT_0, NULL);
    if (s == NULL) {
        PyErr_Clear();
        repr_default(o, b);
        return;
    }
    pyusdt_buf_puts(b, s);
    PyMem_Free(s);
}

/* Items of a sequence between open and close; a 1-tuple gets its comma. */
static void
repr_items(PyObject *const *items, Py_ssize_t n, const char *open,
           const char *close, int tuple, struct pyusdt_buf *b, int depth)
{
    pyusdt_buf_puts(b, open);
    for (Py_ssize_t i = 0; i < n && !b->truncated; i++) {
        PyObject *item = items[i];
        if (IS_COMPACT_INT(item) && pyusdt_buf_room(b) >= 2 + 21) {
            /* ", " and any small int fit: no checks per piece */
            char *d = b->data + b->len;
            if (i > 0) {
                memcpy(d, ", ", 2);
                d += 2;
            }
            d += pyusdt_format_long(d, (long long)
                PyUnstable_Long_CompactValue((PyLongObject *)item));
            b->len = (size_t)(d - b->data);
            continue;
        }
        if (i > 0) {
            pyusdt_buf_puts(b, ", ");
        }
        if (IS_COMPACT_INT(item)) {
            put_compact(b, item);
        }
        else {
            repr_obj(item, b, depth + 1);
        }
    }
    if (tuple && n == 1) {
        pyusdt_buf_puts(b, ",");
    }
    pyusdt_buf_puts(b, close);
}

static void
repr_dict(PyObject *o, struct pyusdt_buf *b, int depth)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int first = 1;

    pyusdt_buf_puts(b, "{");
    while (!b->truncated && PyDict_Next(o, &pos, &k, &v)) {
        if (!first) {
            pyusdt_buf_puts(b, ", ");
        }
        first = 0;
        repr_obj(k, b, depth + 1);
        pyusdt_buf_puts(b, ": ");
        repr_obj(v, b, depth + 1);
    }
    pyusdt_buf_puts(b, "}");
}

static void
repr_set(PyObject *o, struct pyusdt_buf *b, int depth)
{
    int frozen = PyFrozenSet_CheckExact(o);
    PyObject *it, *k;
    int first = 1;

    if (PySet_GET_SIZE(o) == 0) {
        pyusdt_buf_puts(b, frozen ? "frozenset()" : "set()");
        return;
    }
    /* the set iterator is C code and hashes nothing: no user code runs */
    it = PyObject_GetIter(o);
    if (it == NULL) {
        PyErr_Clear();
        repr_default(o, b);
        return;
    }
    pyusdt_buf_puts(b, frozen ? "frozenset({" : "{");
    while (!b->truncated && (k = PyIter_Next(it)) != NULL) {
        if (!first) {
            pyusdt_buf_puts(b, ", ");
        }
        first = 0;
        repr_obj(k, b, depth + 1);
        Py_DECREF(k);
    }
    Py_DECREF(it);
    PyErr_Clear();
    pyusdt_buf_puts(b, frozen ? "})" : "}");
}

static void
repr_function(PyObject *o, struct pyusdt_buf *b)
{
    PyFunctionObject *f = (PyFunctionObject *)o;

    pyusdt_buf_puts(b, "<function ");
    write_name(f->func_qualname, b);
    pyusdt_buf_puts(b, " at ");
    pyusdt_buf_hex(b, (uintptr_t)o);
    pyusdt_buf_puts(b, ">");
}

static void
repr_builtin(PyObject *o, struct pyusdt_buf *b)
{
    PyCFunctionObject *f = (PyCFunctionObject *)o;
    PyObject *self = f->m_self;

    if (self == NULL || PyModule_Check(self)) {
        pyusdt_buf_puts(b, "<built-in function ");
        pyusdt_buf_puts(b, f->m_ml->ml_name);
        pyusdt_buf_puts(b, ">");
        return;
    }
    pyusdt_buf_puts(b, "<built-in method ");
    pyusdt_buf_puts(b, f->m_ml->ml_name);
    pyusdt_buf_puts(b, " of ");
    if (PyType_Check(self)) {
        pyusdt_buf_puts(b, "type object at ");
    }
    else {
        type_name(Py_TYPE(self), b);
        pyusdt_buf_puts(b, " object at ");
    }
    pyusdt_buf_hex(b, (uintptr_t)self);
    pyusdt_buf_puts(b, ">");
}

/* <bound method Qual.name of <module.Type object at 0x...>>: the object
 * is shown in the default form, since its own repr is user code. */
static void
repr_method(PyObject *o, struct pyusdt_buf *b)
{
    PyObject *func = PyMethod_GET_FUNCTION(o);
    PyObject *self = PyMethod_GET_SELF(o);

    pyusdt_buf_puts(b, "<bound method ");
    if (PyFunction_Check(func)) {
        write_name(((PyFunctionObject *)func)->func_qualname, b);
    }
    else {
        type_name(Py_TYPE(func), b);
    }
    pyusdt_buf_puts(b, " of ");
    if (PyType_Check(self)) {
        repr_obj(self, b, PYUSDT_REPR_DEPTH);
    }
    else {
        repr_default(self, b);
    }
    pyusdt_buf_puts(b, ">");
}

static void
repr_exception(PyObject *o, struct pyusdt_buf *b, int depth)
{
    PyObject *args = ((PyBaseExceptionObject *)o)->args;
    const char *name = Py_TYPE(o)->tp_name;
    const char *dot = strrchr(name, '.');

    pyusdt_buf_puts(b, dot ? dot + 1 : name);
    if (args == NULL || !PyTuple_Check(args)) {
        pyusdt_buf_puts(b, "()");
        return;
    }
    repr_items(&PyTuple_GET_ITEM(args, 0), PyTuple_GET_SIZE(args), "(",
               ")", 0, b, depth);
}

static void
repr_code(PyObject *o, struct pyusdt_buf *b)
{
    PyCodeObject *co = (PyCodeObject *)o;

    pyusdt_buf_puts(b, "<code object ");
    write_name(co->co_name, b);
    pyusdt_buf_puts(b, " at ");
    pyusdt_buf_hex(b, (uintptr_t)o);
    pyusdt_buf_puts(b, ", file \"");
    write_name(co->co_filename, b);
    pyusdt_buf_puts(b, "\", line ");
    pyusdt_buf_long(b, co->co_firstlineno);
    pyusdt_buf_puts(b, ">");
}

/* Containers: exact built-in types only (a subclass may override repr). */
static int
repr_container(PyObject *o, struct pyusdt_buf *b, int depth)
{
    if (PyTuple_CheckExact(o)) {
        repr_items(&PyTuple_GET_ITEM(o, 0), PyTuple_GET_SIZE(o), "(", ")", 1,
                   b, depth);
    }
    else if (PyList_CheckExact(o)) {
        repr_items(PyList_GET_SIZE(o) ? &PyList_GET_ITEM(o, 0) : NULL,
                   PyList_GET_SIZE(o), "[", "]", 0, b, depth);
    }
    else if (PyDict_CheckExact(o)) {
        repr_dict(o, b, depth);
    }
    else if (PyAnySet_CheckExact(o)) {
        repr_set(o, b, depth);
    }
    else {
        return 0;
    }
    return 1;
}

static int
repr_scalar(PyObject *o, struct pyusdt_buf *b)
{
    if (o == Py_None) {
        pyusdt_buf_puts(b, "None");
    }
    else if (o == Py_True) {
        pyusdt_buf_puts(b, "True");
    }
    else if (o == Py_False) {
        pyusdt_buf_puts(b, "False");
    }
    else if (o == Py_Ellipsis) {
        pyusdt_buf_puts(b, "Ellipsis");
    }
    else if (PyLong_CheckExact(o)) {
        repr_int(o, b);
    }
    else if (PyFloat_CheckExact(o)) {
        repr_float(o, b);
    }
    else if (PyUnicode_CheckExact(o)) {
        repr_str(o, b);
    }
    else if (PyBytes_CheckExact(o)) {
        repr_bytes(PyBytes_AS_STRING(o), PyBytes_GET_SIZE(o), b);
    }
    else if (PyByteArray_CheckExact(o)) {
        pyusdt_buf_puts(b, "bytearray(");
        repr_bytes(PyByteArray_AS_STRING(o), PyByteArray_GET_SIZE(o), b);
        pyusdt_buf_puts(b, ")");
    }
    else {
        return 0;
    }
    return 1;
}

static int
repr_callable_or_type(PyObject *o, struct pyusdt_buf *b)
{
    if (PyFunction_Check(o)) {
        repr_function(o, b);
    }
    else if (PyCFunction_CheckExact(o)) {
        repr_builtin(o, b);
    }
    else if (PyMethod_Check(o)) {
        repr_method(o, b);
    }
    else if (PyType_Check(o) && Py_IS_TYPE(o, &PyType_Type)) {
        /* a class whose metaclass is type: its repr is type.__repr__ */
        pyusdt_buf_puts(b, "<class '");
        type_name((PyTypeObject *)o, b);
        pyusdt_buf_puts(b, "'>");
    }
    else if (PyModule_CheckExact(o)) {
        pyusdt_buf_puts(b, "<module '");
        pyusdt_buf_puts(b, PyModule_GetName(o) ? PyModule_GetName(o) : "?");
        PyErr_Clear();
        pyusdt_buf_puts(b, "'>");
    }
    else if (PyCode_Check(o)) {
        repr_code(o, b);
    }
    else {
        return 0;
    }
    return 1;
}

static void
repr_obj(PyObject *o, struct pyusdt_buf *b, int depth)
{
    if (b->truncated) {
        return;
    }
    if (repr_scalar(o, b)) {
        return;
    }
    if (depth >= PYUSDT_REPR_DEPTH) {
        pyusdt_buf_puts(b, PYUSDT_ELLIPSIS);
        return;
    }
    if (PyExceptionInstance_Check(o)) {
        repr_exception(o, b, depth);
        return;
    }
    if (repr_container(o, b, depth) || repr_callable_or_type(o, b)) {
        return;
    }
    if (PyComplex_CheckExact(o)) {
        /* complex.__repr__ is C code formatting two doubles */
        PyObject *r = PyObject_Repr(o);
        const char *u = r ? PyUnicode_AsUTF8(r) : NULL;
        if (u != NULL) {
            pyusdt_buf_puts(b, u);
            Py_DECREF(r);
            return;
        }
        PyErr_Clear();
        Py_XDECREF(r);
    }
    repr_default(o, b);
}

/* repr_obj() with the caller's pending exception kept. */
static void
repr_keeping_error(PyObject *o, struct pyusdt_buf *b)
{
    PyObject *exc = PyErr_GetRaisedException();

    repr_obj(o, b, 0);
    PyErr_Clear();
    PyErr_SetRaisedException(exc);
}

const char *
pyusdt_repr_text(PyObject *o, char *mem, size_t cap)
{
    struct pyusdt_buf b = {mem, cap, 0, 0};
    PyTypeObject *t = Py_TYPE(o);

    /* The values seen most often, by their exact type, written by code
     * that calls no Python API that could fail. */
    if (o == Py_None) {
        return "None";
    }
    if (o == Py_True) {
        return "True";
    }
    if (o == Py_False) {
        return "False";
    }
    if (IS_COMPACT_INT(o)) {
        put_compact(&b, o);
    }
    else if (t == &PyUnicode_Type && PyUnicode_IS_ASCII(o)) {
        repr_str(o, &b);
    }
    else if (t == &PyFunction_Type) {
        repr_function(o, &b);
    }
    else if (PyErr_Occurred() == NULL) {
        /* nothing to keep: write, then drop any error a part raised */
        repr_obj(o, &b, 0);
        if (PyErr_Occurred() != NULL) {
            PyErr_Clear();
        }
    }
    else {
        repr_keeping_error(o, &b);
    }
    return pyusdt_buf_finish(&b);
}

const char *
pyusdt_name_utf8(PyObject *s, char *buf, size_t cap)
{
    struct pyusdt_buf b;
    const char *u;

    if (s == NULL || !PyUnicode_Check(s)) {
        return "<missing>";
    }
    u = PyUnicode_AsUTF8AndSize(s, NULL);
    if (u != NULL) {
        return u;
    }
    /* surrogates from undecodable bytes: UTF-8 refuses them */
    PyErr_Clear();
    pyusdt_buf_init(&b, buf, cap);
    write_name(s, &b);
    return pyusdt_buf_finish(&b);
}

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

/* What strbuf.c keeps free at the end of a buffer for "..." and NUL. */
#define RESERVE (sizeof(PYUSDT_ELLIPSIS))

static void repr_obj(PyObject *o, struct pyusdt_buf *b, int depth);

/* pyusdt_buf_append(), inline: all or nothing, and once full always
 * full.  A repr is written on every traced return, so these small
 * writers stay in this file. */
static inline int
put(struct pyusdt_buf *b, const char *s, size_t n)
{
    if (b->truncated || n > b->cap - RESERVE - b->len) {
        b->truncated = 1;
        return -1;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

/* put() for short text in a scratch buffer that can be read PUT_BLOCK
 * bytes from s: one fixed-size copy (a few moves, no call) when the
 * buffer has that much room left, which it has for all but its end. */
#define PUT_BLOCK 32

static inline int
put_block(struct pyusdt_buf *b, const char *s, size_t n)
{
    if (!b->truncated && n <= b->cap - RESERVE - b->len
        && b->cap - b->len >= PUT_BLOCK) {
        memcpy(b->data + b->len, s, PUT_BLOCK);
        b->len += n;
        return 0;
    }
    return put(b, s, n);
}

static inline int
put_str(struct pyusdt_buf *b, const char *s)
{
    return put(b, s, strlen(s));
}

/* Bytes left before the buffer is full. */
static inline size_t
room(const struct pyusdt_buf *b)
{
    return b->truncated ? 0 : b->cap - RESERVE - b->len;
}

/* %lld without snprintf (which costs more than the rest of a repr), two
 * digits at a time. */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

static int
put_long(struct pyusdt_buf *b, long long v)
{
    /* digits end at tmp + PUT_BLOCK, so a block copy stays inside */
    char tmp[2 * PUT_BLOCK];
    char *end = tmp + PUT_BLOCK, *p = end;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;

    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * u, 2);
    }
    else {
        *--p = (char)('0' + u);
    }
    if (v < 0) {
        *--p = '-';
    }
    return put_block(b, p, (size_t)(end - p));
}

/* The decimal text of v at d (at least 21 bytes there); its length.
 * For the items of a sequence, written straight into the buffer. */
static inline size_t
format_long(char *d, long long v)
{
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    size_t n = 1, sign = v < 0;
    char *p;

    for (unsigned long long t = u; t >= 10; t /= 10) {
        n++;
    }
    if (sign) {
        *d = '-';
    }
    p = d + sign + n;
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (u >= 10) {
        memcpy(p - 2, digit_pairs + 2 * u, 2);
    }
    else {
        p[-1] = (char)('0' + u);
    }
    return sign + n;
}

/* A small int (the common case) written straight from the object. */
static inline int
put_compact(struct pyusdt_buf *b, PyObject *o)
{
    return put_long(b, (long long)PyUnstable_Long_CompactValue(
                           (PyLongObject *)o));
}

#define IS_COMPACT_INT(o) \
    (PyLong_CheckExact(o) && PyUnstable_Long_IsCompact((PyLongObject *)(o)))

/* 0x%jx without snprintf, a byte (two digits) at a time. */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static int
put_hex(struct pyusdt_buf *b, uintptr_t v)
{
    char tmp[2 * PUT_BLOCK];
    char *end = tmp + PUT_BLOCK, *p = end;

    do {
        p -= 2;
        memcpy(p, hex_pairs + 2 * (v & 0xff), 2);
        v >>= 8;
    } while (v != 0);
    if (p[0] == '0' && p + 1 < end) {
        p++;            /* a leading zero of the top byte (but keep "0") */
    }
    *--p = 'x';
    *--p = '0';
    return put_block(b, p, (size_t)(end - p));
}

/* pyusdt_buf_finish(), inline. */
static inline const char *
finish(struct pyusdt_buf *b)
{
    if (b->truncated) {
        memcpy(b->data + b->len, PYUSDT_ELLIPSIS, sizeof(PYUSDT_ELLIPSIS));
    }
    else {
        b->data[b->len] = '\0';
    }
    return b->data;
}

/* Writes a str object's text (no quotes) as a name: UTF-8, surrogates
 * escaped. */
static void
write_name(PyObject *s, struct pyusdt_buf *b)
{
    if (s == NULL || !PyUnicode_Check(s)) {
        put_str(b, "?");
        return;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    const void *data = PyUnicode_DATA(s);

    if (PyUnicode_IS_ASCII(s)) {
        /* ASCII is its own UTF-8: what fits, in one copy */
        size_t left = room(b);
        if ((size_t)n <= left) {
            put(b, data, (size_t)n);
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
        put_str(b, t->tp_name);
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
        put_str(b, ".");
    }
    if (ht->ht_qualname && PyUnicode_CheckExact(ht->ht_qualname)) {
        write_name(ht->ht_qualname, b);
    }
    else {
        put_str(b, t->tp_name);
    }
}

/* The default form: <module.Type object at 0x...>. */
static void
repr_default(PyObject *o, struct pyusdt_buf *b)
{
    put_str(b, "<");
    type_name(Py_TYPE(o), b);
    put_str(b, " object at ");
    put_hex(b, (uintptr_t)o);
    put_str(b, ">");
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
        size_t left = room(b);
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
        put(b, &quote, 1);
        repr_ascii(data, n, quote, b);
        put(b, &quote, 1);
        return;
    }
    for (Py_ssize_t i = 0; i < look; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        squote |= (c == '\'');
        dquote |= (c == '"');
    }
    quote = (squote && !dquote) ? '"' : '\'';
    put(b, &quote, 1);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (pyusdt_buf_repr_char(b, c, quote, Py_UNICODE_ISPRINTABLE(c)) < 0) {
            return;
        }
    }
    put(b, &quote, 1);
}

static void
repr_bytes(const char *s, Py_ssize_t n, struct pyusdt_buf *b)
{
    Py_ssize_t look = n < (Py_ssize_t)b->cap ? n : (Py_ssize_t)b->cap;
    int squote = memchr(s, '\'', (size_t)look) != NULL;
    int dquote = memchr(s, '"', (size_t)look) != NULL;
    char quote = (squote && !dquote) ? '"' : '\'';

    put_str(b, "b");
    put(b, &quote, 1);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (pyusdt_buf_repr_byte(b, (unsigned char)s[i], quote) < 0) {
            return;
        }
    }
    put(b, &quote, 1);
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
        put_long(b, v);
        return;
    }
    /* Up to 2**1024 the decimal text is at most 309 digits: cheap.  Past
     * that, converting costs time quadratic in the size (and raises past
     * sys.get_int_max_str_digits()), so say what it is instead. */
    (void)PyLong_AsDouble(o);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        put_str(b, "<int too large to show>");
        return;
    }
    PyObject *r = PyObject_Repr(o);
    const char *s = r ? PyUnicode_AsUTF8(r) : NULL;
    if (s != NULL) {
        put_str(b, s);
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
    put_str(b, s);
    PyMem_Free(s);
}

/* Items of a sequence between open and close; a 1-tuple gets its comma. */
static void
repr_items(PyObject *const *items, Py_ssize_t n, const char *open,
           const char *close, int tuple, struct pyusdt_buf *b, int depth)
{
    put_str(b, open);
    for (Py_ssize_t i = 0; i < n && !b->truncated; i++) {
        PyObject *item = items[i];
        if (IS_COMPACT_INT(item) && room(b) >= 2 + 21) {
            /* ", " and any small int fit: no checks per piece */
            char *d = b->data + b->len;
            if (i > 0) {
                memcpy(d, ", ", 2);
                d += 2;
            }
            d += format_long(d, (long long)PyUnstable_Long_CompactValue(
                                    (PyLongObject *)item));
            b->len = (size_t)(d - b->data);
            continue;
        }
        if (i > 0) {
            put_str(b, ", ");
        }
        if (IS_COMPACT_INT(item)) {
            put_compact(b, item);
        }
        else {
            repr_obj(item, b, depth + 1);
        }
    }
    if (tuple && n == 1) {
        put_str(b, ",");
    }
    put_str(b, close);
}

static void
repr_dict(PyObject *o, struct pyusdt_buf *b, int depth)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int first = 1;

    put_str(b, "{");
    while (!b->truncated && PyDict_Next(o, &pos, &k, &v)) {
        if (!first) {
            put_str(b, ", ");
        }
        first = 0;
        repr_obj(k, b, depth + 1);
        put_str(b, ": ");
        repr_obj(v, b, depth + 1);
    }
    put_str(b, "}");
}

static void
repr_set(PyObject *o, struct pyusdt_buf *b, int depth)
{
    int frozen = PyFrozenSet_CheckExact(o);
    PyObject *it, *k;
    int first = 1;

    if (PySet_GET_SIZE(o) == 0) {
        put_str(b, frozen ? "frozenset()" : "set()");
        return;
    }
    /* the set iterator is C code and hashes nothing: no user code runs */
    it = PyObject_GetIter(o);
    if (it == NULL) {
        PyErr_Clear();
        repr_default(o, b);
        return;
    }
    put_str(b, frozen ? "frozenset({" : "{");
    while (!b->truncated && (k = PyIter_Next(it)) != NULL) {
        if (!first) {
            put_str(b, ", ");
        }
        first = 0;
        repr_obj(k, b, depth + 1);
        Py_DECREF(k);
    }
    Py_DECREF(it);
    PyErr_Clear();
    put_str(b, frozen ? "})" : "}");
}

static void
repr_function(PyObject *o, struct pyusdt_buf *b)
{
    PyFunctionObject *f = (PyFunctionObject *)o;

    put_str(b, "<function ");
    write_name(f->func_qualname, b);
    put_str(b, " at ");
    put_hex(b, (uintptr_t)o);
    put_str(b, ">");
}

static void
repr_builtin(PyObject *o, struct pyusdt_buf *b)
{
    PyCFunctionObject *f = (PyCFunctionObject *)o;
    PyObject *self = f->m_self;

    if (self == NULL || PyModule_Check(self)) {
        put_str(b, "<built-in function ");
        put_str(b, f->m_ml->ml_name);
        put_str(b, ">");
        return;
    }
    put_str(b, "<built-in method ");
    put_str(b, f->m_ml->ml_name);
    put_str(b, " of ");
    if (PyType_Check(self)) {
        put_str(b, "type object at ");
    }
    else {
        type_name(Py_TYPE(self), b);
        put_str(b, " object at ");
    }
    put_hex(b, (uintptr_t)self);
    put_str(b, ">");
}

/* <bound method Qual.name of <module.Type object at 0x...>>: the object
 * is shown in the default form, since its own repr is user code. */
static void
repr_method(PyObject *o, struct pyusdt_buf *b)
{
    PyObject *func = PyMethod_GET_FUNCTION(o);
    PyObject *self = PyMethod_GET_SELF(o);

    put_str(b, "<bound method ");
    if (PyFunction_Check(func)) {
        write_name(((PyFunctionObject *)func)->func_qualname, b);
    }
    else {
        type_name(Py_TYPE(func), b);
    }
    put_str(b, " of ");
    if (PyType_Check(self)) {
        repr_obj(self, b, PYUSDT_REPR_DEPTH);
    }
    else {
        repr_default(self, b);
    }
    put_str(b, ">");
}

static void
repr_exception(PyObject *o, struct pyusdt_buf *b, int depth)
{
    PyObject *args = ((PyBaseExceptionObject *)o)->args;
    const char *name = Py_TYPE(o)->tp_name;
    const char *dot = strrchr(name, '.');

    put_str(b, dot ? dot + 1 : name);
    if (args == NULL || !PyTuple_Check(args)) {
        put_str(b, "()");
        return;
    }
    repr_items(&PyTuple_GET_ITEM(args, 0), PyTuple_GET_SIZE(args), "(",
               ")", 0, b, depth);
}

static void
repr_code(PyObject *o, struct pyusdt_buf *b)
{
    PyCodeObject *co = (PyCodeObject *)o;

    put_str(b, "<code object ");
    write_name(co->co_name, b);
    put_str(b, " at ");
    put_hex(b, (uintptr_t)o);
    put_str(b, ", file \"");
    write_name(co->co_filename, b);
    put_str(b, "\", line ");
    put_long(b, co->co_firstlineno);
    put_str(b, ">");
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
        put_str(b, "None");
    }
    else if (o == Py_True) {
        put_str(b, "True");
    }
    else if (o == Py_False) {
        put_str(b, "False");
    }
    else if (o == Py_Ellipsis) {
        put_str(b, "Ellipsis");
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
        put_str(b, "bytearray(");
        repr_bytes(PyByteArray_AS_STRING(o), PyByteArray_GET_SIZE(o), b);
        put_str(b, ")");
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
        put_str(b, "<class '");
        type_name((PyTypeObject *)o, b);
        put_str(b, "'>");
    }
    else if (PyModule_CheckExact(o)) {
        put_str(b, "<module '");
        put_str(b, PyModule_GetName(o) ? PyModule_GetName(o) : "?");
        PyErr_Clear();
        put_str(b, "'>");
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
        put_str(b, PYUSDT_ELLIPSIS);
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
            put_str(b, u);
            Py_DECREF(r);
            return;
        }
        PyErr_Clear();
        Py_XDECREF(r);
    }
    repr_default(o, b);
}

void
pyusdt_repr(PyObject *o, struct pyusdt_buf *b)
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
        pyusdt_repr(o, &b);
    }
    return finish(&b);
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

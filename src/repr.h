/* repr.h - a bounded repr() that runs no code of the traced program. */
#ifndef PYUSDT_REPR_H
#define PYUSDT_REPR_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "strbuf.h"

/* Size of the buffer a repr is written into: at most 255 bytes of text,
 * the last three "..." when the value's repr is longer. */
#define PYUSDT_REPR_MAX 256

/* Containers nested deeper than this show as "...". */
#define PYUSDT_REPR_DEPTH 4

/* The repr of o into mem (cap bytes, at least PYUSDT_REPR_MAX), finished:
 * the NUL-terminated text, which is mem or a string constant.  Values of
 * the built-in types (None, bool, int, float, complex, str, bytes,
 * bytearray, tuple, list, dict, set, frozenset, functions, methods,
 * classes, modules, code objects and exceptions) are written as repr()
 * would, cut at the buffer's size and reading no more of the value than
 * fits; any other object is written as <module.Type object at 0x...>,
 * without calling its __repr__.  None, bools, small ints and ASCII str
 * take a fast path that calls no Python API.  Never leaves a Python
 * exception set. */
const char *pyusdt_repr_text(PyObject *o, char *mem, size_t cap);

/* Size of the buffer for a file or function name that is not valid UTF-8
 * (it holds surrogates) and is written escaped: \udcXX per bad byte. */
#define PYUSDT_NAME_MAX 1024

/* The UTF-8 text of str s: its own cached UTF-8 when it has one (no copy,
 * no length limit), else s escaped into buf.  "<missing>" when s is not a
 * str.  Never leaves a Python exception set. */
const char *pyusdt_name_utf8(PyObject *s, char *buf, size_t cap);

#endif /* PYUSDT_REPR_H */

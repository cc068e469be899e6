/* codecache.h - a value per code object, kept beside it (not in it).
 *
 * The callbacks keep what the probes say about a code object (its names'
 * UTF-8, its first line) in this table, keyed by the code object's
 * address.  A code watcher removes an entry when its code object is
 * destroyed.  The table and the watcher exist only while pyusdt uses
 * them: pyusdt_codecache_clear() frees every value and removes the
 * watcher.  Every call needs the GIL.
 */
#ifndef PYUSDT_CODECACHE_H
#define PYUSDT_CODECACHE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

struct pyusdt_codecache_slot {
    PyObject *code;     /* NULL: empty */
    void *value;
};

struct pyusdt_codecache {
    struct pyusdt_codecache_slot *slots;
    size_t mask;        /* number of slots - 1 (a power of 2 minus 1) */
    size_t used;
    int watcher;        /* the code watcher's id, -1 when none */
    void (*free_value)(void *);
};

extern struct pyusdt_codecache pyusdt_codecache;

/* The first slot to probe for code (Fibonacci hashing of the address). */
static inline size_t
pyusdt_codecache_hash(PyObject *code)
{
    return (size_t)(((uintptr_t)code >> 4) * 0x9E3779B97F4A7C15ull
                     >> 32) & pyusdt_codecache.mask;
}

/* The value kept for code, or NULL. */
static inline void *
pyusdt_codecache_get(PyObject *code)
{
    struct pyusdt_codecache_slot *slots = pyusdt_codecache.slots;

    if (slots == NULL) {
        return NULL;
    }
    for (size_t i = pyusdt_codecache_hash(code);;
         i = (i + 1) & pyusdt_codecache.mask) {
        if (slots[i].code == code) {
            return slots[i].value;
        }
        if (slots[i].code == NULL) {
            return NULL;
        }
    }
}

/* Keep value for code (replacing and freeing an older one).  Returns 0,
 * or -1 (no memory, or no code watcher free) with no exception set: the
 * caller then keeps nothing. */
int pyusdt_codecache_put(PyObject *code, void *value);

/* How values are freed; set once, before the first put. */
void pyusdt_codecache_set_free(void (*free_value)(void *));

/* Forget every value (freed) and remove the code watcher. */
void pyusdt_codecache_clear(void);

#endif /* PYUSDT_CODECACHE_H */

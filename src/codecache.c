/* codecache.c - a value per code object, kept beside it (not in it).
 *
 * Not in the code object's co_extra: CPython's code_dealloc calls the free
 * function of every code-extra index any extension ever requested, for
 * every code object that has co_extra at all, whether that index holds a
 * value or not.  Giving a code object co_extra therefore made other
 * tools' free functions run for it, and a tool whose free function is
 * gone (test_code's ctypes one, after the test) crashed the program when
 * such a code object died.  An open-addressing table keyed by address,
 * with a code watcher that removes an entry when its code object is
 * destroyed, touches nothing of the code object.  The memory comes from
 * malloc, not PyMem: tracemalloc shows the program its own allocations
 * only.
 */
#include "config.h"

#include <stdlib.h>

#include "codecache.h"

#define MIN_SLOTS 1024

struct pyusdt_codecache pyusdt_codecache = {.watcher = -1};

void
pyusdt_codecache_set_free(void (*free_value)(void *))
{
    pyusdt_codecache.free_value = free_value;
}

static void
free_value(void *value)
{
    if (value != NULL && pyusdt_codecache.free_value != NULL) {
        pyusdt_codecache.free_value(value);
    }
}

/* Remove slot i; later slots of the same run move back into the hole
 * (linear probing has no tombstones). */
static void
remove_slot(size_t i)
{
    struct pyusdt_codecache_slot *slots = pyusdt_codecache.slots;
    size_t mask = pyusdt_codecache.mask;
    size_t hole = i;

    for (size_t j = (i + 1) & mask; slots[j].code != NULL;
         j = (j + 1) & mask) {
        size_t home = pyusdt_codecache_hash(slots[j].code);
        /* j may fill the hole unless its home lies in (hole, j] */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            slots[hole] = slots[j];
            hole = j;
        }
    }
    slots[hole].code = NULL;
    slots[hole].value = NULL;
    pyusdt_codecache.used--;
}

static int
on_code_event(PyCodeEvent event, PyCodeObject *co)
{
    void *value;

    if (event != PY_CODE_EVENT_DESTROY || pyusdt_codecache.slots == NULL) {
        return 0;
    }
    for (size_t i = pyusdt_codecache_hash((PyObject *)co);;
         i = (i + 1) & pyusdt_codecache.mask) {
        if (pyusdt_codecache.slots[i].code == (PyObject *)co) {
            value = pyusdt_codecache.slots[i].value;
            remove_slot(i);
            free_value(value);
            return 0;
        }
        if (pyusdt_codecache.slots[i].code == NULL) {
            return 0;
        }
    }
}

static void
insert(struct pyusdt_codecache_slot *slots, PyObject *code, void *value)
{
    size_t i = pyusdt_codecache_hash(code);

    while (slots[i].code != NULL) {
        i = (i + 1) & pyusdt_codecache.mask;
    }
    slots[i].code = code;
    slots[i].value = value;
}

/* Make the table twice as large (or make it): at most half full keeps
 * the runs short. */
static int
grow(void)
{
    size_t old_n = pyusdt_codecache.slots ? pyusdt_codecache.mask + 1 : 0;
    size_t n = old_n ? old_n * 2 : MIN_SLOTS;
    struct pyusdt_codecache_slot *old = pyusdt_codecache.slots;
    struct pyusdt_codecache_slot *slots = calloc(n, sizeof(*slots));

    if (slots == NULL) {
        return -1;
    }
    pyusdt_codecache.slots = slots;
    pyusdt_codecache.mask = n - 1;
    for (size_t i = 0; i < old_n; i++) {
        if (old[i].code != NULL) {
            insert(slots, old[i].code, old[i].value);
        }
    }
    free(old);
    return 0;
}

int
pyusdt_codecache_put(PyObject *code, void *value)
{
    struct pyusdt_codecache_slot *slots;

    if (pyusdt_codecache.watcher < 0) {
        pyusdt_codecache.watcher = PyCode_AddWatcher(on_code_event);
        if (pyusdt_codecache.watcher < 0) {
            PyErr_Clear();     /* all watchers taken: keep nothing */
            return -1;
        }
    }
    if ((pyusdt_codecache.used + 1) * 2 > (pyusdt_codecache.slots
                                           ? pyusdt_codecache.mask + 1 : 0)
        && grow() < 0) {
        return -1;
    }
    slots = pyusdt_codecache.slots;
    for (size_t i = pyusdt_codecache_hash(code);;
         i = (i + 1) & pyusdt_codecache.mask) {
        if (slots[i].code == code) {
            free_value(slots[i].value);
            slots[i].value = value;
            return 0;
        }
        if (slots[i].code == NULL) {
            slots[i].code = code;
            slots[i].value = value;
            pyusdt_codecache.used++;
            return 0;
        }
    }
}

void
pyusdt_codecache_clear(void)
{
    struct pyusdt_codecache_slot *slots = pyusdt_codecache.slots;
    size_t n = slots ? pyusdt_codecache.mask + 1 : 0;

    /* detach first: a value's free may free a code object, whose watcher
     * event must not find a half-emptied table */
    pyusdt_codecache.slots = NULL;
    pyusdt_codecache.mask = 0;
    pyusdt_codecache.used = 0;
    if (pyusdt_codecache.watcher >= 0) {
        if (PyCode_ClearWatcher(pyusdt_codecache.watcher) < 0) {
            PyErr_Clear();
        }
        pyusdt_codecache.watcher = -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (slots[i].code != NULL) {
            free_value(slots[i].value);
        }
    }
    free(slots);
}

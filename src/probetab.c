/* probetab.c - probe names and masks. */
#include "config.h"

#include <string.h>

#include "probetab.h"

static const char *const names[PYUSDT_NPROBES] = {
#define NAME_ITEM(NAME, fire, KIND, PYTHON) [PYUSDT_##NAME] = #NAME,
    PYUSDT_FOR_EACH_PROBE(NAME_ITEM)
#undef NAME_ITEM
};

static const char *const python_names[PYUSDT_NPYTHON] = {
#define PYTHON_NAME_ITEM(NAME, fire) [PYUSDT_PYTHON_##NAME] = #NAME,
    PYUSDT_FOR_EACH_PYTHON_PROBE(PYTHON_NAME_ITEM)
#undef PYTHON_NAME_ITEM
};

const char *
pyusdt_python_probe_name(int probe)
{
    if (probe < 0 || probe >= PYUSDT_NPYTHON) {
        return NULL;
    }
    return python_names[probe];
}

unsigned int
pyusdt_events_for(unsigned int attached, unsigned int interpreter)
{
    unsigned int events = attached & ((1u << PYUSDT_NPROBES) - 1);
    unsigned int python = attached & ~interpreter;

#define EVENT_OF(NAME, fire, KIND, PYTHON) \
    if (python & PYUSDT_PYTHON_OF_##PYTHON) { \
        events |= PYUSDT_BIT(NAME); \
    }
    PYUSDT_FOR_EACH_PROBE(EVENT_OF)
#undef EVENT_OF
    return events;
}

const char *
pyusdt_probe_name(int probe)
{
    if (probe < 0 || probe >= PYUSDT_NPROBES) {
        return NULL;
    }
    return names[probe];
}

int
pyusdt_mask_format(unsigned int mask, char *out, size_t len)
{
    size_t used = 0;

    if (len == 0) {
        return -1;
    }
    out[0] = '\0';
    for (int i = 0; i < PYUSDT_NPROBES; i++) {
        if (!(mask & (1u << i))) {
            continue;
        }
        size_t n = strlen(names[i]) + (used ? 1 : 0);
        if (used + n + 1 > len) {
            return -1;
        }
        if (used) {
            out[used++] = ',';
        }
        strcpy(out + used, names[i]);
        used += strlen(names[i]);
    }
    return (int)used;
}

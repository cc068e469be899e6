/* probetab.c - probe names and masks. */
#include "config.h"

#include <string.h>

#include "probetab.h"

static const char *const names[PYUSDT_NPROBES] = {
#define NAME_ITEM(NAME, fire, KIND) [PYUSDT_##NAME] = #NAME,
    PYUSDT_FOR_EACH_PROBE(NAME_ITEM)
#undef NAME_ITEM
};

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

/* settings.c - parse pyusdt's environment variables, no Python API. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

const struct pyusdt_knob pyusdt_knob_check_msec = {
    "PYUSDT_CHECK_MSEC", 1, 10000, 100,
    "a whole number of milliseconds from 1 to 10000",
};

const struct pyusdt_knob pyusdt_knob_verbose = {
    "PYUSDT_VERBOSE", 0, 1, 0, "0 or 1",
};

int
pyusdt_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL) {
        return -1;
    }
    /* strtol skips leading blanks and takes '+': be stricter */
    if (!(*s == '-' || (*s >= '0' && *s <= '9'))) {
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int
pyusdt_knob_value(const struct pyusdt_knob *k, const char *value,
                  long *out, char *warn, size_t warnlen)
{
    *out = k->dflt;
    if (value == NULL) {
        return 0;
    }
    if (pyusdt_parse_long(value, k->min, k->max, out) == 0) {
        return 0;
    }
    *out = k->dflt;
    if (warn != NULL && warnlen > 0) {
        /* cut a long value: the warning stays one readable line */
        snprintf(warn, warnlen,
                 "pyusdt: ignoring %s=\"%.40s%s\": not %s; using %ld",
                 k->var, value, strlen(value) > 40 ? "..." : "", k->want,
                 k->dflt);
    }
    return -1;
}

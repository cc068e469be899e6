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

const struct pyusdt_knob pyusdt_knob_stack_tls = {
    "PYUSDT_STACK_TLS", 0, 1, 1, "0 or 1",
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

/* The value as shown in a warning: control bytes as \xNN so the warning
 * stays one line, cut after 40 bytes on a UTF-8 character boundary. */
static void
show_value(const char *value, char *out, size_t outlen)
{
    size_t n = 0, used = 0;

    while (value[n] != '\0' && n < 40) {
        n++;
    }
    while (n > 0 && value[n] != '\0'
           && ((unsigned char)value[n] & 0xc0) == 0x80) {
        n--;    /* do not split a multi-byte character */
    }
    for (size_t i = 0; i < n && used + 5 < outlen; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f) {
            used += (size_t)snprintf(out + used, outlen - used, "\\x%02x",
                                     c);
        }
        else {
            out[used++] = (char)c;
        }
    }
    if (value[n] != '\0' && used + 4 < outlen) {
        memcpy(out + used, "...", 3);
        used += 3;
    }
    out[used] = '\0';
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
        char shown[208];
        show_value(value, shown, sizeof(shown));
        snprintf(warn, warnlen,
                 "pyusdt: ignoring %s=\"%s\": not %s; using %ld",
                 k->var, shown, k->want, k->dflt);
    }
    return -1;
}

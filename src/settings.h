/* settings.h - pyusdt's environment knobs, parsed with bounds. */
#ifndef PYUSDT_SETTINGS_H
#define PYUSDT_SETTINGS_H

#include <stddef.h>

/* One integer knob read from the environment. */
struct pyusdt_knob {
    const char *var;     /* environment variable */
    long min, max, dflt;
    const char *want;    /* what a good value is, for the warning */
};

/* PYUSDT_CHECK_MSEC, PYUSDT_VERBOSE and PYUSDT_STACK_TLS */
extern const struct pyusdt_knob pyusdt_knob_check_msec;
extern const struct pyusdt_knob pyusdt_knob_verbose;
extern const struct pyusdt_knob pyusdt_knob_stack_tls;

/* Parse a whole decimal integer within [min, max]: digits with an optional
 * leading '-', no blanks, no trailing text.  Returns 0 and sets *out, or
 * -1. */
int pyusdt_parse_long(const char *s, long min, long max, long *out);

/* The knob's value for `value` (the variable's text, NULL when unset).
 * A bad value gives the default and writes one line (no newline) naming
 * the variable into warn, and returns -1; otherwise returns 0. */
int pyusdt_knob_value(const struct pyusdt_knob *k, const char *value,
                      long *out, char *warn, size_t warnlen);

#endif /* PYUSDT_SETTINGS_H */

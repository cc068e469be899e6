/* filter.c - which code fires probes (see filter.h), no Python API. */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

int pyusdt_filter_on;
unsigned int pyusdt_filter_generation;

static struct {
    char text[PYUSDT_FILTER_MAX_LEN + 1];   /* as given */
    char buf[PYUSDT_FILTER_MAX_LEN + 1];    /* the patterns, NUL-split */
    const char *pattern[PYUSDT_FILTER_MAX_PATTERNS];
    int is_file[PYUSDT_FILTER_MAX_PATTERNS];
    int n;
} filter;

static void
clear(void)
{
    pyusdt_filter_on = 0;
    filter.n = 0;
    filter.text[0] = '\0';
    pyusdt_filter_generation++;
}

static int
bad(char *warn, size_t warnlen, const char *why)
{
    clear();
    if (warn != NULL && warnlen > 0) {
        snprintf(warn, warnlen, "pyusdt: ignoring the filter: %s; no "
                 "filter", why);
    }
    return -1;
}

int
pyusdt_filter_set(const char *text, char *warn, size_t warnlen)
{
    size_t len;
    char *p;

    if (text == NULL || *text == '\0') {
        clear();
        return 0;
    }
    len = strlen(text);
    if (len > PYUSDT_FILTER_MAX_LEN) {
        return bad(warn, warnlen, "longer than 4096 bytes");
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
            return bad(warn, warnlen, "a control character in it");
        }
    }
    clear();
    memcpy(filter.buf, text, len + 1);
    p = filter.buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        if (*p == '\0') {
            return bad(warn, warnlen, "an empty pattern (\",,\", or a "
                       "comma at an end)");
        }
        if (filter.n == PYUSDT_FILTER_MAX_PATTERNS) {
            return bad(warn, warnlen, "more than 64 patterns");
        }
        filter.pattern[filter.n] = p;
        filter.is_file[filter.n] = strchr(p, '/') != NULL;
        filter.n++;
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    memcpy(filter.text, text, len + 1);
    pyusdt_filter_on = 1;
    return 0;
}

const char *
pyusdt_filter_text(void)
{
    return pyusdt_filter_on ? filter.text : NULL;
}

int
pyusdt_filter_match(const char *name, const char *qualname,
                    const char *file)
{
    if (!pyusdt_filter_on) {
        return 1;
    }
    for (int i = 0; i < filter.n; i++) {
        const char *pat = filter.pattern[i];
        if (filter.is_file[i]) {
            if (fnmatch(pat, file, 0) == 0) {
                return 1;
            }
        }
        else if (fnmatch(pat, name, 0) == 0
                 || fnmatch(pat, qualname, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

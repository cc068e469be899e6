/* filter.h - which code fires probes: PYUSDT_FILTER, pyusdt --filter and
 * pyusdt.set_filter(), no Python API.
 *
 * A filter is a comma-separated list of fnmatch(3) patterns.  A pattern
 * without "/" matches a function's name or qualified name ("target",
 * "Engine.*"); one with "/" matches its file (a star, "/myapp/", a star:
 * the files under a directory myapp).  Code that no
 * pattern matches fires no probe.  The verdict is taken once per code
 * object and filter (callbacks.c keeps it with the code object's names,
 * stamped with pyusdt_filter_generation).
 */
#ifndef PYUSDT_FILTER_H
#define PYUSDT_FILTER_H

#include <stddef.h>

/* At most this many patterns, and this many bytes in all. */
#define PYUSDT_FILTER_MAX_PATTERNS 64
#define PYUSDT_FILTER_MAX_LEN 4096

/* Nonzero while a filter is set. */
extern int pyusdt_filter_on;

/* Changes with every pyusdt_filter_set(): a verdict stamped with an
 * older generation is stale. */
extern unsigned int pyusdt_filter_generation;

/* Set the filter from its text (NULL or "" for none).  Returns 0, or -1
 * for a malformed or over-long filter: then there is no filter, and warn
 * holds one line (no newline) saying why. */
int pyusdt_filter_set(const char *text, char *warn, size_t warnlen);

/* The filter's text, or NULL when there is none. */
const char *pyusdt_filter_text(void);

/* Whether code with these names and file passes the filter (1) or not
 * (0); 1 when there is no filter. */
int pyusdt_filter_match(const char *name, const char *qualname,
                        const char *file);

#endif /* PYUSDT_FILTER_H */

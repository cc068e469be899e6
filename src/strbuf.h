/* strbuf.h - a fixed-size output buffer that never overflows.
 *
 * Reprs and escaped names are written into caller-owned memory (usually on
 * the stack) so that firing a probe allocates nothing.  When the text does
 * not fit, the buffer keeps what fits, cut on a character boundary, and
 * ends with "...".
 */
#ifndef PYUSDT_STRBUF_H
#define PYUSDT_STRBUF_H

#include <stddef.h>
#include <stdint.h>

#define PYUSDT_ELLIPSIS "..."

struct pyusdt_buf {
    char *data;
    size_t cap;        /* bytes of data, NUL included */
    size_t len;
    int truncated;
};

/* cap must be at least 8; the last 4 bytes are kept for "..." and NUL. */
void pyusdt_buf_init(struct pyusdt_buf *b, char *mem, size_t cap);

/* Each append is all or nothing: 0 if it fit, -1 once the buffer is full
 * (then every later append is refused too). */
int pyusdt_buf_append(struct pyusdt_buf *b, const char *s, size_t n);
int pyusdt_buf_puts(struct pyusdt_buf *b, const char *s);
int pyusdt_buf_long(struct pyusdt_buf *b, long long v);
int pyusdt_buf_hex(struct pyusdt_buf *b, uintptr_t v);

/* Append one code point as UTF-8 (lone surrogates are refused: escape
 * them). */
int pyusdt_buf_utf8(struct pyusdt_buf *b, uint32_t cp);

/* Append one code point the way Python's repr() writes it inside a string
 * literal quoted with `quote`.  `printable` is Python's str.isprintable()
 * for the code point (the caller knows the Unicode database). */
int pyusdt_buf_repr_char(struct pyusdt_buf *b, uint32_t cp, char quote,
                         int printable);

/* Append one byte the way repr(bytes) writes it. */
int pyusdt_buf_repr_byte(struct pyusdt_buf *b, unsigned char c, char quote);

/* Append a code point of a name (file or function): UTF-8 as is, but a
 * lone surrogate (an undecodable byte of a file name) as \udcXX. */
int pyusdt_buf_name_char(struct pyusdt_buf *b, uint32_t cp);

/* NUL-terminate and return the text, with "..." if anything was cut. */
const char *pyusdt_buf_finish(struct pyusdt_buf *b);

#endif /* PYUSDT_STRBUF_H */

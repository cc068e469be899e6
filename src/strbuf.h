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
#include <string.h>

#define PYUSDT_ELLIPSIS "..."

/* Room kept at the end of a buffer for the ellipsis and the NUL. */
#define PYUSDT_BUF_RESERVE (sizeof(PYUSDT_ELLIPSIS))

/* pyusdt_buf_append_block() copies this many bytes at once. */
#define PYUSDT_BUF_BLOCK 32

struct pyusdt_buf {
    char *data;
    size_t cap;        /* bytes of data, NUL included */
    size_t len;
    int truncated;
};

/* cap must be at least 8; the last 4 bytes are kept for "..." and NUL. */
void pyusdt_buf_init(struct pyusdt_buf *b, char *mem, size_t cap);

/* Each append is all or nothing: 0 if it fit, -1 once the buffer is full
 * (then every later append is refused too).  The small writers are inline:
 * a repr is written on every traced return. */
static inline int
pyusdt_buf_append(struct pyusdt_buf *b, const char *s, size_t n)
{
    if (b->truncated || n > b->cap - PYUSDT_BUF_RESERVE - b->len) {
        b->truncated = 1;
        return -1;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

/* pyusdt_buf_append() for short text in a scratch buffer that can be read
 * PYUSDT_BUF_BLOCK bytes from s: one fixed-size copy (a few moves, no
 * call) when the buffer has that much room left, as it has for all but
 * its end. */
static inline int
pyusdt_buf_append_block(struct pyusdt_buf *b, const char *s, size_t n)
{
    if (!b->truncated && n <= b->cap - PYUSDT_BUF_RESERVE - b->len
        && b->cap - b->len >= PYUSDT_BUF_BLOCK) {
        memcpy(b->data + b->len, s, PYUSDT_BUF_BLOCK);
        b->len += n;
        return 0;
    }
    return pyusdt_buf_append(b, s, n);
}

static inline int
pyusdt_buf_puts(struct pyusdt_buf *b, const char *s)
{
    return pyusdt_buf_append(b, s, strlen(s));
}

/* Bytes left before the buffer is full. */
static inline size_t
pyusdt_buf_room(const struct pyusdt_buf *b)
{
    return b->truncated ? 0 : b->cap - PYUSDT_BUF_RESERVE - b->len;
}

/* NUL-terminate and return the text, with "..." if anything was cut. */
static inline const char *
pyusdt_buf_finish(struct pyusdt_buf *b)
{
    if (b->truncated) {
        memcpy(b->data + b->len, PYUSDT_ELLIPSIS, sizeof(PYUSDT_ELLIPSIS));
    }
    else {
        b->data[b->len] = '\0';
    }
    return b->data;
}

/* %lld and 0x%jx, without snprintf (which costs more than the rest of a
 * repr): two digits at a time. */
int pyusdt_buf_long(struct pyusdt_buf *b, long long v);

/* The decimal text of v at d (at least 21 bytes there), not terminated;
 * its length.  For the items of a sequence, written straight into the
 * buffer. */
size_t pyusdt_format_long(char *d, long long v);
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

#endif /* PYUSDT_STRBUF_H */

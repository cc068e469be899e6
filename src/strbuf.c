/* strbuf.c - bounded text buffer and Python-style escaping, no Python API. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "strbuf.h"

/* Room kept at the end for the ellipsis and the NUL. */
#define RESERVE (sizeof(PYUSDT_ELLIPSIS))

void
pyusdt_buf_init(struct pyusdt_buf *b, char *mem, size_t cap)
{
    b->data = mem;
    b->cap = cap;
    b->len = 0;
    b->truncated = 0;
    mem[0] = '\0';
}

int
pyusdt_buf_append(struct pyusdt_buf *b, const char *s, size_t n)
{
    if (b->truncated) {
        return -1;
    }
    if (n > b->cap - RESERVE - b->len) {
        b->truncated = 1;
        return -1;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

int
pyusdt_buf_puts(struct pyusdt_buf *b, const char *s)
{
    return pyusdt_buf_append(b, s, strlen(s));
}

int
pyusdt_buf_long(struct pyusdt_buf *b, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", v);

    return pyusdt_buf_append(b, tmp, (size_t)n);
}

int
pyusdt_buf_hex(struct pyusdt_buf *b, uintptr_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "0x%jx", (uintmax_t)v);

    return pyusdt_buf_append(b, tmp, (size_t)n);
}

int
pyusdt_buf_utf8(struct pyusdt_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    }
    else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    }
    else if (cp < 0x10000) {
        if (cp >= 0xd800 && cp <= 0xdfff) {
            return -1;
        }
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    }
    else if (cp <= 0x10ffff) {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    else {
        return -1;
    }
    return pyusdt_buf_append(b, u, n);
}

/* \xNN, \uNNNN or \UNNNNNNNN, as Python picks by magnitude. */
static int
escape_codepoint(struct pyusdt_buf *b, uint32_t cp)
{
    char tmp[12];
    int n;

    if (cp < 0x100) {
        n = snprintf(tmp, sizeof(tmp), "\\x%02x", (unsigned)cp);
    }
    else if (cp < 0x10000) {
        n = snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)cp);
    }
    else {
        n = snprintf(tmp, sizeof(tmp), "\\U%08x", (unsigned)cp);
    }
    return pyusdt_buf_append(b, tmp, (size_t)n);
}

/* The escapes shared by str and bytes literals; -2 if c has none. */
static int
simple_escape(struct pyusdt_buf *b, uint32_t c, char quote)
{
    switch (c) {
    case '\\':
        return pyusdt_buf_append(b, "\\\\", 2);
    case '\t':
        return pyusdt_buf_append(b, "\\t", 2);
    case '\n':
        return pyusdt_buf_append(b, "\\n", 2);
    case '\r':
        return pyusdt_buf_append(b, "\\r", 2);
    }
    if (c == (uint32_t)(unsigned char)quote) {
        char esc[2] = {'\\', quote};
        return pyusdt_buf_append(b, esc, 2);
    }
    return -2;
}

int
pyusdt_buf_repr_char(struct pyusdt_buf *b, uint32_t cp, char quote,
                     int printable)
{
    int r = simple_escape(b, cp, quote);

    if (r != -2) {
        return r;
    }
    if (cp < 0x20 || cp == 0x7f) {
        return escape_codepoint(b, cp);
    }
    if (cp < 0x7f) {
        char c = (char)cp;
        return pyusdt_buf_append(b, &c, 1);
    }
    if (!printable || (cp >= 0xd800 && cp <= 0xdfff)) {
        return escape_codepoint(b, cp);
    }
    return pyusdt_buf_utf8(b, cp);
}

int
pyusdt_buf_repr_byte(struct pyusdt_buf *b, unsigned char c, char quote)
{
    int r = simple_escape(b, c, quote);

    if (r != -2) {
        return r;
    }
    if (c < 0x20 || c >= 0x7f) {
        return escape_codepoint(b, c);
    }
    return pyusdt_buf_append(b, (const char *)&c, 1);
}

int
pyusdt_buf_name_char(struct pyusdt_buf *b, uint32_t cp)
{
    if (cp >= 0xd800 && cp <= 0xdfff) {
        return escape_codepoint(b, cp);
    }
    return pyusdt_buf_utf8(b, cp);
}

const char *
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

/* strbuf.c - bounded text buffer and Python-style escaping, no Python API. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "strbuf.h"

void
pyusdt_buf_init(struct pyusdt_buf *b, char *mem, size_t cap)
{
    b->data = mem;
    b->cap = cap;
    b->len = 0;
    b->truncated = 0;
    mem[0] = '\0';
}

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

size_t
pyusdt_format_long(char *d, long long v)
{
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    size_t n = 1, sign = v < 0;
    char *p;

    for (unsigned long long t = u; t >= 10; t /= 10) {
        n++;
    }
    if (sign) {
        *d = '-';
    }
    p = d + sign + n;
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (u >= 10) {
        memcpy(p - 2, digit_pairs + 2 * u, 2);
    }
    else {
        p[-1] = (char)('0' + u);
    }
    return sign + n;
}

int
pyusdt_buf_long(struct pyusdt_buf *b, long long v)
{
    /* PYUSDT_BUF_BLOCK bytes can be read from tmp: a block copy */
    char tmp[PYUSDT_BUF_BLOCK];

    return pyusdt_buf_append_block(b, tmp, pyusdt_format_long(tmp, v));
}

static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

int
pyusdt_buf_hex(struct pyusdt_buf *b, uintptr_t v)
{
    char tmp[2 * PYUSDT_BUF_BLOCK];
    char *end = tmp + PYUSDT_BUF_BLOCK, *p = end;

    do {
        p -= 2;
        memcpy(p, hex_pairs + 2 * (v & 0xff), 2);
        v >>= 8;
    } while (v != 0);
    if (p[0] == '0' && p + 1 < end) {
        p++;            /* a leading zero of the top byte (but keep "0") */
    }
    *--p = 'x';
    *--p = '0';
    return pyusdt_buf_append_block(b, p, (size_t)(end - p));
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

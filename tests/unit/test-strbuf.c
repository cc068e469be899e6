/* test-strbuf.c - unit tests for src/strbuf.c: the bounded output buffer
 * (all-or-nothing appends, refusal once full, truncation ending in "..."
 * on a character boundary, no write past cap), integer and hex formatting,
 * UTF-8 encoding, and the Python-repr-style escaping of str code points,
 * bytes and names (file and function names with surrogates).
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Memory behind the buffer: more than any cap used here, so that a write
 * past cap lands on the 'Z' fill and can be seen. */
#define MEM_SIZE 80
#define FILL 'Z'

static char mem[MEM_SIZE];
static struct pyusdt_buf buf;

static void
buf_setup(size_t cap)
{
    memset(mem, FILL, sizeof(mem));
    pyusdt_buf_init(&buf, mem, cap);
}

/* Nothing was written at or after mem[from]. */
static void
assert_untouched_from(size_t from)
{
    for (size_t i = from; i < MEM_SIZE; i++) {
        ck_assert_msg(mem[i] == FILL, "byte %zu was written", i);
    }
}

/* The text of one repr_char() call in a roomy buffer. */
static const char *
repr_char(uint32_t cp, char quote, int printable)
{
    buf_setup(32);
    ck_assert_int_eq(pyusdt_buf_repr_char(&buf, cp, quote, printable), 0);
    return pyusdt_buf_finish(&buf);
}

/* The text of one repr_byte() call in a roomy buffer. */
static const char *
repr_byte(unsigned char c, char quote)
{
    buf_setup(32);
    ck_assert_int_eq(pyusdt_buf_repr_byte(&buf, c, quote), 0);
    return pyusdt_buf_finish(&buf);
}

/* The text of one name_char() call in a roomy buffer. */
static const char *
name_char(uint32_t cp)
{
    buf_setup(32);
    ck_assert_int_eq(pyusdt_buf_name_char(&buf, cp), 0);
    return pyusdt_buf_finish(&buf);
}

/* The text of one utf8() call in a roomy buffer. */
static const char *
utf8(uint32_t cp)
{
    buf_setup(32);
    ck_assert_int_eq(pyusdt_buf_utf8(&buf, cp), 0);
    return pyusdt_buf_finish(&buf);
}

/* ------------------------------------------------------------ buffer */

START_TEST(test_init_empty)
{
    buf_setup(16);
    ck_assert_int_eq((int)buf.len, 0);
    ck_assert_int_eq(buf.truncated, 0);
    ck_assert_int_eq((int)buf.cap, 16);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "");
    ck_assert_ptr_eq(pyusdt_buf_finish(&buf), mem);
    assert_untouched_from(1);
}
END_TEST

START_TEST(test_appends_concatenate)
{
    buf_setup(32);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "foo"), 0);
    ck_assert_int_eq(pyusdt_buf_append(&buf, "barXX", 3), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, ""), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "(baz)"), 0);
    ck_assert_int_eq((int)buf.len, 11);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "foobar(baz)");
    ck_assert_int_eq(buf.truncated, 0);
}
END_TEST

START_TEST(test_exact_fit_is_not_truncated)
{
    /* cap 16 leaves 12 bytes of text: 4 are kept for "..." and NUL */
    buf_setup(16);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "abcdefghijkl"), 0);
    ck_assert_int_eq(buf.truncated, 0);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "abcdefghijkl");
    assert_untouched_from(13);
}
END_TEST

START_TEST(test_one_byte_over_is_refused)
{
    buf_setup(16);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "abcdefghijklm"), -1);
    ck_assert_int_eq((int)buf.len, 0);
    ck_assert_int_eq(buf.truncated, 1);
    assert_untouched_from(1);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "...");
    assert_untouched_from(4);
}
END_TEST

START_TEST(test_long_append_is_all_or_nothing)
{
    /* one append that does not fit is dropped whole, not cut */
    buf_setup(16);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "abcdefghijklmnopqrstuvwxyz"), -1);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "...");
    assert_untouched_from(4);
}
END_TEST

START_TEST(test_partial_append_keeps_earlier_text)
{
    buf_setup(16);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "abcdefghij"), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "klm"), -1);
    ck_assert_int_eq((int)buf.len, 10);
    /* the refused append wrote nothing */
    assert_untouched_from(10);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "abcdefghij...");
    assert_untouched_from(14);
}
END_TEST

START_TEST(test_char_by_char_truncation)
{
    const char *alpha = "abcdefghijklmnopqrstuvwxyz";
    int ok = 0;

    buf_setup(16);
    for (const char *p = alpha; *p; p++) {
        if (pyusdt_buf_append(&buf, p, 1) == 0) {
            ok++;
        }
    }
    ck_assert_int_eq(ok, 12);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "abcdefghijkl...");
    ck_assert_int_eq((int)strlen(mem) + 1, 16);
    assert_untouched_from(16);
}
END_TEST

START_TEST(test_refused_after_truncation)
{
    buf_setup(16);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "abcdefghij"), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "klm"), -1);
    /* these would fit in the 2 bytes left, but the buffer is full */
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "k"), -1);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, ""), -1);
    ck_assert_int_eq(pyusdt_buf_long(&buf, 7), -1);
    ck_assert_int_eq(pyusdt_buf_utf8(&buf, 'x'), -1);
    ck_assert_int_eq(pyusdt_buf_repr_char(&buf, 'x', '\'', 1), -1);
    ck_assert_int_eq(pyusdt_buf_repr_byte(&buf, 'x', '\''), -1);
    ck_assert_int_eq(pyusdt_buf_name_char(&buf, 'x'), -1);
    ck_assert_int_eq((int)buf.len, 10);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "abcdefghij...");
}
END_TEST

START_TEST(test_minimum_cap)
{
    /* cap 8: 4 bytes of text */
    buf_setup(8);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "abcd"), 0);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "abcd");
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "e"), -1);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "abcd...");
    assert_untouched_from(8);
}
END_TEST

START_TEST(test_finish_twice)
{
    buf_setup(8);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "ab"), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "cdefg"), -1);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "ab...");
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "ab...");
    assert_untouched_from(6);
}
END_TEST

START_TEST(test_utf8_straddling_dropped_whole)
{
    /* 3 bytes of text, 1 left: a 2-byte character is dropped whole */
    buf_setup(8);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "abc"), 0);
    ck_assert_int_eq(pyusdt_buf_utf8(&buf, 0xe9), -1);
    assert_untouched_from(3);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "abc...");

    /* 9 bytes of text, 3 left: a 4-byte character is dropped whole */
    buf_setup(16);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "abcdefghi"), 0);
    ck_assert_int_eq(pyusdt_buf_repr_char(&buf, 0x1F600, '\'', 1), -1);
    assert_untouched_from(9);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "abcdefghi...");

    /* exactly enough room: it fits */
    buf_setup(16);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "abcdefgh"), 0);
    ck_assert_int_eq(pyusdt_buf_repr_char(&buf, 0x1F600, '\'', 1), 0);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "abcdefgh\xf0\x9f\x98\x80");
}
END_TEST

START_TEST(test_escape_straddling_dropped_whole)
{
    /* "\u2028" is 6 bytes; only 5 are left */
    buf_setup(16);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "'abcdef"), 0);
    ck_assert_int_eq(pyusdt_buf_repr_char(&buf, 0x2028, '\'', 0), -1);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "'abcdef...");

    /* "\\" is 2 bytes; only 1 is left */
    buf_setup(8);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "'ab"), 0);
    ck_assert_int_eq(pyusdt_buf_repr_char(&buf, '\\', '\'', 1), -1);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "'ab...");
}
END_TEST

/* ------------------------------------------------------- numbers */

START_TEST(test_long)
{
    buf_setup(64);
    ck_assert_int_eq(pyusdt_buf_long(&buf, 0), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, " "), 0);
    ck_assert_int_eq(pyusdt_buf_long(&buf, -42), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, " "), 0);
    ck_assert_int_eq(pyusdt_buf_long(&buf, LLONG_MAX), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, " "), 0);
    ck_assert_int_eq(pyusdt_buf_long(&buf, LLONG_MIN), 0);
    ck_assert_str_eq(pyusdt_buf_finish(&buf),
                     "0 -42 9223372036854775807 -9223372036854775808");
}
END_TEST

START_TEST(test_long_too_long_is_refused)
{
    buf_setup(8);
    ck_assert_int_eq(pyusdt_buf_long(&buf, 12345), -1);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "...");
    buf_setup(8);
    ck_assert_int_eq(pyusdt_buf_long(&buf, -123), 0);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "-123");
}
END_TEST

START_TEST(test_hex)
{
    buf_setup(64);
    ck_assert_int_eq(pyusdt_buf_hex(&buf, 0), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, " "), 0);
    ck_assert_int_eq(pyusdt_buf_hex(&buf, (uintptr_t)0xdeadbeefu), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, " "), 0);
    ck_assert_int_eq(pyusdt_buf_hex(&buf, UINTPTR_MAX), 0);
    if (sizeof(uintptr_t) == 8) {
        ck_assert_str_eq(pyusdt_buf_finish(&buf),
                         "0x0 0xdeadbeef 0xffffffffffffffff");
    }
    else {
        ck_assert_str_eq(pyusdt_buf_finish(&buf),
                         "0x0 0xdeadbeef 0xffffffff");
    }
}
END_TEST

/* Every number of digits, both signs, at every position of a buffer
 * (the block copy of PYUSDT_BUF_BLOCK bytes is taken only with that much
 * room left, the plain append near the end): what snprintf writes, and
 * nothing past cap. */
START_TEST(test_long_every_length_and_position)
{
    for (int digits = 1; digits <= 19; digits++) {
        long long v = 1;
        for (int i = 1; i < digits; i++) {
            v = v * 10 + (i % 10);
        }
        for (int sign = 0; sign < 2; sign++) {
            long long x = sign ? -v : v;
            char want[32];
            int n = snprintf(want, sizeof(want), "%lld", x);
            for (size_t pad = 0; pad < 60; pad++) {
                buf_setup(64);
                for (size_t i = 0; i < pad; i++) {
                    pyusdt_buf_append(&buf, "p", 1);
                }
                int fits = pad + (size_t)n <= 64 - PYUSDT_BUF_RESERVE;
                ck_assert_int_eq(pyusdt_buf_long(&buf, x), fits ? 0 : -1);
                const char *got = pyusdt_buf_finish(&buf);
                if (fits) {
                    ck_assert_str_eq(got + pad, want);
                }
                assert_untouched_from(64);
            }
        }
    }
}
END_TEST

START_TEST(test_hex_every_length_and_position)
{
    for (int bits = 0; bits <= 64; bits += 4) {
        uintptr_t v = bits == 0 ? 0 : UINTPTR_MAX >> (64 - bits);
        char want[32];
        int n = snprintf(want, sizeof(want), "0x%" PRIxPTR, v);
        for (size_t pad = 0; pad < 60; pad++) {
            buf_setup(64);
            for (size_t i = 0; i < pad; i++) {
                pyusdt_buf_append(&buf, "p", 1);
            }
            int fits = pad + (size_t)n <= 64 - PYUSDT_BUF_RESERVE;
            ck_assert_int_eq(pyusdt_buf_hex(&buf, v), fits ? 0 : -1);
            const char *got = pyusdt_buf_finish(&buf);
            if (fits) {
                ck_assert_str_eq(got + pad, want);
            }
            assert_untouched_from(64);
        }
    }
}
END_TEST

START_TEST(test_room_counts_down)
{
    buf_setup(16);
    ck_assert_uint_eq(pyusdt_buf_room(&buf), 16 - PYUSDT_BUF_RESERVE);
    pyusdt_buf_puts(&buf, "abc");
    ck_assert_uint_eq(pyusdt_buf_room(&buf), 16 - PYUSDT_BUF_RESERVE - 3);
}
END_TEST

START_TEST(test_room_zero_once_truncated)
{
    buf_setup(16);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "0123456789abcdef"), -1);
    ck_assert_uint_eq(pyusdt_buf_room(&buf), 0);
}
END_TEST

/* A block copy reads PYUSDT_BUF_BLOCK bytes of its source and writes
 * them, but counts only n: the text is n bytes. */
START_TEST(test_block_counts_only_n)
{
    char src[PYUSDT_BUF_BLOCK];

    memset(src, 'q', sizeof(src));
    memcpy(src, "12", 2);
    buf_setup(64);
    ck_assert_int_eq(pyusdt_buf_append_block(&buf, src, 2), 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "x"), 0);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "12x");
}
END_TEST

/* Near the end there is no room for a block: the plain append runs and
 * nothing is written past cap. */
START_TEST(test_block_near_the_end)
{
    char src[PYUSDT_BUF_BLOCK];

    memset(src, 'q', sizeof(src));
    buf_setup(40);
    for (int i = 0; i < 30; i++) {
        pyusdt_buf_append(&buf, "p", 1);
    }
    ck_assert_int_eq(pyusdt_buf_append_block(&buf, src, 6), 0);
    ck_assert_uint_eq(buf.len, 36);
    ck_assert_int_eq(pyusdt_buf_append_block(&buf, src, 1), -1);
    assert_untouched_from(40);
}
END_TEST

START_TEST(test_puts_empty)
{
    buf_setup(8);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, ""), 0);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "");
}
END_TEST

/* ---------------------------------------------------------- UTF-8 */

START_TEST(test_utf8_lengths)
{
    ck_assert_str_eq(utf8('A'), "A");
    ck_assert_str_eq(utf8(0x7f), "\x7f");
    ck_assert_str_eq(utf8(0x80), "\xc2\x80");
    ck_assert_str_eq(utf8(0xe9), "\xc3\xa9");
    ck_assert_str_eq(utf8(0x7ff), "\xdf\xbf");
    ck_assert_str_eq(utf8(0x800), "\xe0\xa0\x80");
    ck_assert_str_eq(utf8(0x20ac), "\xe2\x82\xac");
    ck_assert_str_eq(utf8(0xd7ff), "\xed\x9f\xbf");
    ck_assert_str_eq(utf8(0xe000), "\xee\x80\x80");
    ck_assert_str_eq(utf8(0xffff), "\xef\xbf\xbf");
    ck_assert_str_eq(utf8(0x10000), "\xf0\x90\x80\x80");
    ck_assert_str_eq(utf8(0x1F600), "\xf0\x9f\x98\x80");
    ck_assert_str_eq(utf8(0x10ffff), "\xf4\x8f\xbf\xbf");
    ck_assert_int_eq((int)strlen(utf8(0x10ffff)), 4);
}
END_TEST

START_TEST(test_utf8_refuses_surrogates_and_out_of_range)
{
    buf_setup(32);
    ck_assert_int_eq(pyusdt_buf_utf8(&buf, 0xd800), -1);
    ck_assert_int_eq(pyusdt_buf_utf8(&buf, 0xdc80), -1);
    ck_assert_int_eq(pyusdt_buf_utf8(&buf, 0xdfff), -1);
    ck_assert_int_eq(pyusdt_buf_utf8(&buf, 0x110000), -1);
    ck_assert_int_eq(pyusdt_buf_utf8(&buf, 0xffffffffu), -1);
    ck_assert_int_eq((int)buf.len, 0);
    assert_untouched_from(1);
    /* a refused code point is not "full": the buffer still takes text */
    ck_assert_int_eq(buf.truncated, 0);
    ck_assert_int_eq(pyusdt_buf_puts(&buf, "x"), 0);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "x");
}
END_TEST

/* --------------------------------------------------- repr of a str */

START_TEST(test_repr_char_ascii)
{
    ck_assert_str_eq(repr_char('a', '\'', 1), "a");
    ck_assert_str_eq(repr_char(' ', '\'', 1), " ");
    ck_assert_str_eq(repr_char('~', '\'', 1), "~");
    /* the flag does not matter for printable ASCII */
    ck_assert_str_eq(repr_char('a', '\'', 0), "a");
}
END_TEST

START_TEST(test_repr_char_simple_escapes)
{
    ck_assert_str_eq(repr_char('\\', '\'', 1), "\\\\");
    ck_assert_str_eq(repr_char('\t', '\'', 0), "\\t");
    ck_assert_str_eq(repr_char('\n', '\'', 0), "\\n");
    ck_assert_str_eq(repr_char('\r', '\'', 0), "\\r");
}
END_TEST

START_TEST(test_repr_char_quotes)
{
    ck_assert_str_eq(repr_char('\'', '\'', 1), "\\'");
    ck_assert_str_eq(repr_char('"', '"', 1), "\\\"");
    /* the other quote is left alone */
    ck_assert_str_eq(repr_char('"', '\'', 1), "\"");
    ck_assert_str_eq(repr_char('\'', '"', 1), "'");
}
END_TEST

START_TEST(test_repr_char_control)
{
    ck_assert_str_eq(repr_char(0x00, '\'', 0), "\\x00");
    ck_assert_str_eq(repr_char(0x07, '\'', 0), "\\x07");
    ck_assert_str_eq(repr_char(0x0b, '\'', 0), "\\x0b");
    ck_assert_str_eq(repr_char(0x1b, '\'', 0), "\\x1b");
    ck_assert_str_eq(repr_char(0x1f, '\'', 0), "\\x1f");
    ck_assert_str_eq(repr_char(0x7f, '\'', 0), "\\x7f");
    /* escaped even if the caller wrongly says printable */
    ck_assert_str_eq(repr_char(0x00, '\'', 1), "\\x00");
    ck_assert_str_eq(repr_char(0x7f, '\'', 1), "\\x7f");
}
END_TEST

START_TEST(test_repr_char_latin1)
{
    ck_assert_str_eq(repr_char(0xe9, '\'', 1), "\xc3\xa9");
    ck_assert_str_eq(repr_char(0xe9, '\'', 0), "\\xe9");
    ck_assert_str_eq(repr_char(0x80, '\'', 0), "\\x80");
    ck_assert_str_eq(repr_char(0x85, '\'', 0), "\\x85");
    ck_assert_str_eq(repr_char(0xa0, '\'', 0), "\\xa0");
    ck_assert_str_eq(repr_char(0xad, '\'', 0), "\\xad");
    ck_assert_str_eq(repr_char(0xff, '\'', 1), "\xc3\xbf");
}
END_TEST

START_TEST(test_repr_char_bmp)
{
    ck_assert_str_eq(repr_char(0x2028, '\'', 0), "\\u2028");
    ck_assert_str_eq(repr_char(0x0100, '\'', 0), "\\u0100");
    ck_assert_str_eq(repr_char(0xfeff, '\'', 0), "\\ufeff");
    ck_assert_str_eq(repr_char(0xe000, '\'', 0), "\\ue000");
    ck_assert_str_eq(repr_char(0x20ac, '\'', 1), "\xe2\x82\xac");
    ck_assert_str_eq(repr_char(0x4e2d, '\'', 1), "\xe4\xb8\xad");
}
END_TEST

START_TEST(test_repr_char_astral)
{
    ck_assert_str_eq(repr_char(0x1F600, '\'', 1), "\xf0\x9f\x98\x80");
    ck_assert_str_eq(repr_char(0x1F600, '\'', 0), "\\U0001f600");
    ck_assert_str_eq(repr_char(0xe0001, '\'', 0), "\\U000e0001");
    ck_assert_str_eq(repr_char(0x10ffff, '\'', 0), "\\U0010ffff");
}
END_TEST

START_TEST(test_repr_char_surrogates)
{
    /* always escaped, whatever the printable flag says */
    ck_assert_str_eq(repr_char(0xdc80, '\'', 0), "\\udc80");
    ck_assert_str_eq(repr_char(0xdc80, '\'', 1), "\\udc80");
    ck_assert_str_eq(repr_char(0xd800, '\'', 1), "\\ud800");
    ck_assert_str_eq(repr_char(0xdfff, '\'', 1), "\\udfff");
    /* just outside the surrogate range */
    ck_assert_str_eq(repr_char(0xd7ff, '\'', 1), "\xed\x9f\xbf");
    ck_assert_str_eq(repr_char(0xe000, '\'', 1), "\xee\x80\x80");
}
END_TEST

START_TEST(test_repr_str_sequence)
{
    /* repr("it's\t\xe9\n") with printable flags as Python gives them */
    static const uint32_t s[] = {'i', 't', '\'', 's', '\t', 0xe9, '\n'};

    buf_setup(32);
    ck_assert_int_eq(pyusdt_buf_append(&buf, "\"", 1), 0);
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        int printable = s[i] >= 0x20 && s[i] != 0x7f;
        ck_assert_int_eq(pyusdt_buf_repr_char(&buf, s[i], '"', printable), 0);
    }
    ck_assert_int_eq(pyusdt_buf_append(&buf, "\"", 1), 0);
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "\"it's\\t\xc3\xa9\\n\"");
}
END_TEST

/* ------------------------------------------------- repr of bytes */

START_TEST(test_repr_byte_plain_and_simple)
{
    ck_assert_str_eq(repr_byte('a', '\''), "a");
    ck_assert_str_eq(repr_byte(' ', '\''), " ");
    ck_assert_str_eq(repr_byte('~', '\''), "~");
    ck_assert_str_eq(repr_byte('\\', '\''), "\\\\");
    ck_assert_str_eq(repr_byte('\t', '\''), "\\t");
    ck_assert_str_eq(repr_byte('\n', '\''), "\\n");
    ck_assert_str_eq(repr_byte('\r', '\''), "\\r");
    ck_assert_str_eq(repr_byte('\'', '\''), "\\'");
    ck_assert_str_eq(repr_byte('"', '"'), "\\\"");
    ck_assert_str_eq(repr_byte('"', '\''), "\"");
    ck_assert_str_eq(repr_byte('\'', '"'), "'");
}
END_TEST

START_TEST(test_repr_byte_hex)
{
    ck_assert_str_eq(repr_byte(0x00, '\''), "\\x00");
    ck_assert_str_eq(repr_byte(0x0b, '\''), "\\x0b");
    ck_assert_str_eq(repr_byte(0x1f, '\''), "\\x1f");
    ck_assert_str_eq(repr_byte(0x7f, '\''), "\\x7f");
    ck_assert_str_eq(repr_byte(0x80, '\''), "\\x80");
    ck_assert_str_eq(repr_byte(0xe9, '\''), "\\xe9");
    ck_assert_str_eq(repr_byte(0xff, '\''), "\\xff");
}
END_TEST

/* ---------------------------------------------------------- names */

START_TEST(test_name_char)
{
    ck_assert_str_eq(name_char('a'), "a");
    /* names are not reprs: no escaping of ASCII */
    ck_assert_str_eq(name_char('\\'), "\\");
    ck_assert_str_eq(name_char('\''), "'");
    ck_assert_str_eq(name_char(0xe9), "\xc3\xa9");
    ck_assert_str_eq(name_char(0x2028), "\xe2\x80\xa8");
    ck_assert_str_eq(name_char(0x1F600), "\xf0\x9f\x98\x80");
}
END_TEST

START_TEST(test_name_char_surrogates)
{
    /* an undecodable byte 0x80..0xff of a file name is U+DC80..U+DCFF */
    ck_assert_str_eq(name_char(0xdc80), "\\udc80");
    ck_assert_str_eq(name_char(0xdcff), "\\udcff");
    ck_assert_str_eq(name_char(0xd800), "\\ud800");
    ck_assert_str_eq(name_char(0xdfff), "\\udfff");
}
END_TEST

START_TEST(test_name_file_with_undecodable_byte)
{
    /* "/tmp/\udce9x.py", as Python decodes b"/tmp/\xe9x.py" */
    static const uint32_t s[] = {
        '/', 't', 'm', 'p', '/', 0xdce9, 'x', '.', 'p', 'y',
    };

    buf_setup(32);
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        ck_assert_int_eq(pyusdt_buf_name_char(&buf, s[i]), 0);
    }
    ck_assert_str_eq(pyusdt_buf_finish(&buf), "/tmp/\\udce9x.py");
}
END_TEST

/* ---------------------------------------------------------- driver */

static Suite *
strbuf_suite(void)
{
    Suite *s = suite_create("strbuf");
    TCase *tc_buf = tcase_create("buffer");
    TCase *tc_num = tcase_create("numbers");
    TCase *tc_utf8 = tcase_create("utf8");
    TCase *tc_repr = tcase_create("repr");
    TCase *tc_name = tcase_create("names");

    tcase_add_test(tc_buf, test_init_empty);
    tcase_add_test(tc_buf, test_appends_concatenate);
    tcase_add_test(tc_buf, test_exact_fit_is_not_truncated);
    tcase_add_test(tc_buf, test_one_byte_over_is_refused);
    tcase_add_test(tc_buf, test_long_append_is_all_or_nothing);
    tcase_add_test(tc_buf, test_partial_append_keeps_earlier_text);
    tcase_add_test(tc_buf, test_char_by_char_truncation);
    tcase_add_test(tc_buf, test_refused_after_truncation);
    tcase_add_test(tc_buf, test_minimum_cap);
    tcase_add_test(tc_buf, test_finish_twice);
    tcase_add_test(tc_buf, test_utf8_straddling_dropped_whole);
    tcase_add_test(tc_buf, test_escape_straddling_dropped_whole);
    suite_add_tcase(s, tc_buf);

    tcase_add_test(tc_num, test_long);
    tcase_add_test(tc_num, test_long_too_long_is_refused);
    tcase_add_test(tc_num, test_hex);
    tcase_add_test(tc_num, test_long_every_length_and_position);
    tcase_add_test(tc_buf, test_room_counts_down);
    tcase_add_test(tc_buf, test_room_zero_once_truncated);
    tcase_add_test(tc_buf, test_block_counts_only_n);
    tcase_add_test(tc_buf, test_block_near_the_end);
    tcase_add_test(tc_buf, test_puts_empty);
    tcase_add_test(tc_num, test_hex_every_length_and_position);
    suite_add_tcase(s, tc_num);

    tcase_add_test(tc_utf8, test_utf8_lengths);
    tcase_add_test(tc_utf8, test_utf8_refuses_surrogates_and_out_of_range);
    suite_add_tcase(s, tc_utf8);

    tcase_add_test(tc_repr, test_repr_char_ascii);
    tcase_add_test(tc_repr, test_repr_char_simple_escapes);
    tcase_add_test(tc_repr, test_repr_char_quotes);
    tcase_add_test(tc_repr, test_repr_char_control);
    tcase_add_test(tc_repr, test_repr_char_latin1);
    tcase_add_test(tc_repr, test_repr_char_bmp);
    tcase_add_test(tc_repr, test_repr_char_astral);
    tcase_add_test(tc_repr, test_repr_char_surrogates);
    tcase_add_test(tc_repr, test_repr_str_sequence);
    tcase_add_test(tc_repr, test_repr_byte_plain_and_simple);
    tcase_add_test(tc_repr, test_repr_byte_hex);
    suite_add_tcase(s, tc_repr);

    tcase_add_test(tc_name, test_name_char);
    tcase_add_test(tc_name, test_name_char_surrogates);
    tcase_add_test(tc_name, test_name_file_with_undecodable_byte);
    suite_add_tcase(s, tc_name);

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(strbuf_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* test-settings.c - unit tests for src/settings.c: pyusdt_parse_long (a
 * strict whole decimal within bounds: no blanks, no '+', no trailing text,
 * no hex, no overflow) and pyusdt_knob_value with the two knobs
 * PYUSDT_CHECK_MSEC and PYUSDT_VERBOSE (default when unset, default and a
 * one-line warning naming the variable when bad).
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

#define SENTINEL 12345L
#define WARN_UNTOUCHED "untouched"

static char warn[256];

/* Parse s within [min, max]; *out is SENTINEL if the parse left it alone. */
static int
parse(const char *s, long min, long max, long *out)
{
    *out = SENTINEL;
    return pyusdt_parse_long(s, min, max, out);
}

static void
assert_parses(const char *s, long min, long max, long want)
{
    long v;

    ck_assert_msg(parse(s, min, max, &v) == 0, "\"%s\" was rejected", s);
    ck_assert_msg(v == want, "\"%s\" gave %ld, not %ld", s, v, want);
}

static void
assert_rejected(const char *s, long min, long max)
{
    long v;

    ck_assert_msg(parse(s, min, max, &v) == -1, "\"%s\" was accepted", s);
    ck_assert_msg(v == SENTINEL, "\"%s\" changed *out to %ld", s, v);
}

/* Run the knob on value with a pre-filled warning buffer. */
static int
knob(const struct pyusdt_knob *k, const char *value, long *out)
{
    strcpy(warn, WARN_UNTOUCHED);
    *out = SENTINEL;
    return pyusdt_knob_value(k, value, out, warn, sizeof(warn));
}

/* ------------------------------------------------------ parse_long */

START_TEST(test_parse_plain)
{
    assert_parses("0", 0, 1, 0);
    assert_parses("1", 0, 1, 1);
    assert_parses("100", 1, 10000, 100);
    assert_parses("42", 0, 100, 42);
}
END_TEST

START_TEST(test_parse_bounds_inclusive)
{
    assert_parses("1", 1, 10000, 1);
    assert_parses("10000", 1, 10000, 10000);
    assert_rejected("0", 1, 10000);
    assert_rejected("10001", 1, 10000);
    assert_rejected("2", 0, 1);
    assert_rejected("-1", 0, 1);
}
END_TEST

START_TEST(test_parse_negative)
{
    assert_parses("-5", -10, 10, -5);
    assert_parses("-10", -10, 10, -10);
    assert_parses("-0", 0, 1, 0);
    assert_rejected("-11", -10, 10);
    assert_rejected("-", -10, 10);
    assert_rejected("--5", -10, 10);
    assert_rejected("-+5", -10, 10);
    assert_rejected("- 5", -10, 10);
}
END_TEST

START_TEST(test_parse_leading_zeros_are_decimal)
{
    assert_parses("007", 0, 100, 7);
    assert_parses("010", 0, 100, 10);
    assert_parses("0000", 0, 100, 0);
}
END_TEST

START_TEST(test_parse_rejects_empty_and_null)
{
    long v = SENTINEL;

    assert_rejected("", 0, 100);
    ck_assert_int_eq(pyusdt_parse_long(NULL, 0, 100, &v), -1);
    ck_assert(v == SENTINEL);
}
END_TEST

START_TEST(test_parse_rejects_blanks)
{
    assert_rejected(" 5", 0, 100);
    assert_rejected("\t5", 0, 100);
    assert_rejected("\n5", 0, 100);
    assert_rejected("5 ", 0, 100);
    assert_rejected("5\n", 0, 100);
    assert_rejected("5 0", 0, 100);
    assert_rejected(" ", 0, 100);
}
END_TEST

START_TEST(test_parse_rejects_plus)
{
    assert_rejected("+5", 0, 100);
    assert_rejected("+0", 0, 100);
    assert_rejected("+", 0, 100);
}
END_TEST

START_TEST(test_parse_rejects_trailing_text)
{
    assert_rejected("5x", 0, 100);
    assert_rejected("5.0", 0, 100);
    assert_rejected("5.", 0, 100);
    assert_rejected("1e3", 0, 10000);
    assert_rejected("5ms", 0, 100);
    assert_rejected("abc", 0, 100);
    assert_rejected("x5", 0, 100);
}
END_TEST

START_TEST(test_parse_rejects_hex_and_octal_syntax)
{
    assert_rejected("0x10", 0, 100);
    assert_rejected("0X10", 0, 100);
    assert_rejected("0b1", 0, 100);
    assert_rejected("0o7", 0, 100);
}
END_TEST

START_TEST(test_parse_overflow)
{
    char s[64];

    assert_rejected("99999999999999999999", LONG_MIN, LONG_MAX);
    assert_rejected("-99999999999999999999", LONG_MIN, LONG_MAX);
    assert_rejected("99999999999999999999", 0, 100);

    snprintf(s, sizeof(s), "%ld", LONG_MAX);
    assert_parses(s, LONG_MIN, LONG_MAX, LONG_MAX);
    snprintf(s, sizeof(s), "%ld", LONG_MIN);
    assert_parses(s, LONG_MIN, LONG_MAX, LONG_MIN);
    /* one past LONG_MAX: "...807" becomes "...808" */
    snprintf(s, sizeof(s), "%ld", LONG_MAX);
    s[strlen(s) - 1]++;
    assert_rejected(s, LONG_MIN, LONG_MAX);
}
END_TEST

/* ---------------------------------------------------------- knobs */

START_TEST(test_knob_definitions)
{
    ck_assert_str_eq(pyusdt_knob_check_msec.var, "PYUSDT_CHECK_MSEC");
    ck_assert(pyusdt_knob_check_msec.min == 1);
    ck_assert(pyusdt_knob_check_msec.max == 10000);
    ck_assert(pyusdt_knob_check_msec.dflt == 100);
    ck_assert_str_eq(pyusdt_knob_verbose.var, "PYUSDT_VERBOSE");
    ck_assert(pyusdt_knob_verbose.min == 0);
    ck_assert(pyusdt_knob_verbose.max == 1);
    ck_assert(pyusdt_knob_verbose.dflt == 0);
    ck_assert_str_eq(pyusdt_knob_stack_tls.var, "PYUSDT_STACK_TLS");
    ck_assert(pyusdt_knob_stack_tls.min == 0);
    ck_assert(pyusdt_knob_stack_tls.max == 1);
    ck_assert(pyusdt_knob_stack_tls.dflt == 1);
}
END_TEST

START_TEST(test_knob_unset_gives_default)
{
    long v;

    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, NULL, &v), 0);
    ck_assert(v == 100);
    ck_assert_str_eq(warn, WARN_UNTOUCHED);

    ck_assert_int_eq(knob(&pyusdt_knob_verbose, NULL, &v), 0);
    ck_assert(v == 0);
    ck_assert_str_eq(warn, WARN_UNTOUCHED);
}
END_TEST

START_TEST(test_knob_good_values)
{
    long v;

    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "250", &v), 0);
    ck_assert(v == 250);
    ck_assert_str_eq(warn, WARN_UNTOUCHED);
    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "1", &v), 0);
    ck_assert(v == 1);
    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "10000", &v), 0);
    ck_assert(v == 10000);
    ck_assert_int_eq(knob(&pyusdt_knob_verbose, "1", &v), 0);
    ck_assert(v == 1);
    ck_assert_int_eq(knob(&pyusdt_knob_verbose, "0", &v), 0);
    ck_assert(v == 0);
    ck_assert_str_eq(warn, WARN_UNTOUCHED);
}
END_TEST

START_TEST(test_knob_bad_check_msec_warning)
{
    long v;

    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "abc", &v), -1);
    ck_assert(v == 100);
    ck_assert_str_eq(warn,
                     "pyusdt: ignoring PYUSDT_CHECK_MSEC=\"abc\": not a whole "
                     "number of milliseconds from 1 to 10000; using 100");
}
END_TEST

START_TEST(test_knob_out_of_range)
{
    long v;

    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "0", &v), -1);
    ck_assert(v == 100);
    ck_assert_str_eq(warn,
                     "pyusdt: ignoring PYUSDT_CHECK_MSEC=\"0\": not a whole "
                     "number of milliseconds from 1 to 10000; using 100");
    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "10001", &v), -1);
    ck_assert(v == 100);
    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "-5", &v), -1);
    ck_assert(v == 100);
    ck_assert_int_eq(knob(&pyusdt_knob_check_msec,
                          "99999999999999999999", &v), -1);
    ck_assert(v == 100);
}
END_TEST

START_TEST(test_knob_bad_verbose_warning)
{
    long v;

    ck_assert_int_eq(knob(&pyusdt_knob_verbose, "2", &v), -1);
    ck_assert(v == 0);
    ck_assert_str_eq(warn,
                     "pyusdt: ignoring PYUSDT_VERBOSE=\"2\": not 0 or 1; "
                     "using 0");
    ck_assert_int_eq(knob(&pyusdt_knob_verbose, "yes", &v), -1);
    ck_assert(v == 0);
    ck_assert_int_eq(knob(&pyusdt_knob_verbose, "+1", &v), -1);
    ck_assert(v == 0);
}
END_TEST

START_TEST(test_knob_empty_value_is_bad)
{
    long v;

    /* PYUSDT_CHECK_MSEC= (set but empty) is a bad value, not "unset" */
    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "", &v), -1);
    ck_assert(v == 100);
    ck_assert_str_eq(warn,
                     "pyusdt: ignoring PYUSDT_CHECK_MSEC=\"\": not a whole "
                     "number of milliseconds from 1 to 10000; using 100");
}
END_TEST

START_TEST(test_knob_strict_syntax)
{
    long v;

    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, " 50", &v), -1);
    ck_assert(v == 100);
    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "50ms", &v), -1);
    ck_assert(v == 100);
    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "0x10", &v), -1);
    ck_assert(v == 100);
    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, "+50", &v), -1);
    ck_assert(v == 100);
}
END_TEST

START_TEST(test_knob_value_of_40_not_cut)
{
    const char *v40 = "0123456789012345678901234567890123456789";
    char want[256];
    long v;

    ck_assert_int_eq((int)strlen(v40), 40);
    ck_assert_int_eq(knob(&pyusdt_knob_verbose, v40, &v), -1);
    snprintf(want, sizeof(want),
             "pyusdt: ignoring PYUSDT_VERBOSE=\"%s\": not 0 or 1; using 0",
             v40);
    ck_assert_str_eq(warn, want);
}
END_TEST

START_TEST(test_knob_long_value_cut)
{
    char value[1001];
    long v;

    memset(value, 'x', 1000);
    value[1000] = '\0';
    ck_assert_int_eq(knob(&pyusdt_knob_check_msec, value, &v), -1);
    ck_assert(v == 100);
    ck_assert_str_eq(warn,
                     "pyusdt: ignoring PYUSDT_CHECK_MSEC=\""
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "...\": not a whole number of milliseconds from 1 to "
                     "10000; using 100");

    /* 41 characters: one too many, cut */
    value[41] = '\0';
    ck_assert_int_eq(knob(&pyusdt_knob_verbose, value, &v), -1);
    ck_assert_str_eq(warn,
                     "pyusdt: ignoring PYUSDT_VERBOSE=\""
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "...\": not 0 or 1; using 0");
}
END_TEST

START_TEST(test_knob_warning_is_one_line)
{
    static const char *const bad[] = {
        "abc", "", "0", "99999999999999999999", "1\n2", "5\n", "\n",
    };
    long v;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(knob(&pyusdt_knob_check_msec, bad[i], &v), -1);
        ck_assert(v == 100);
        ck_assert_msg(strstr(warn, "PYUSDT_CHECK_MSEC") != NULL,
                      "warning does not name the variable: %s", warn);
        ck_assert_msg(strchr(warn, '\n') == NULL,
                      "warning for value %zu is not one line: %s", i, warn);
    }
}
END_TEST

START_TEST(test_knob_no_warning_buffer)
{
    long v = SENTINEL;

    ck_assert_int_eq(pyusdt_knob_value(&pyusdt_knob_check_msec, "bad", &v,
                                       NULL, 0), -1);
    ck_assert(v == 100);
    v = SENTINEL;
    strcpy(warn, WARN_UNTOUCHED);
    ck_assert_int_eq(pyusdt_knob_value(&pyusdt_knob_check_msec, "bad", &v,
                                       warn, 0), -1);
    ck_assert(v == 100);
    ck_assert_str_eq(warn, WARN_UNTOUCHED);
}
END_TEST

START_TEST(test_knob_small_warning_buffer)
{
    long v;

    memset(warn, 'Z', sizeof(warn));
    ck_assert_int_eq(pyusdt_knob_value(&pyusdt_knob_check_msec, "bad", &v,
                                       warn, 12), -1);
    ck_assert(v == 100);
    /* cut, NUL-terminated, nothing written past the given length */
    ck_assert_str_eq(warn, "pyusdt: ign");
    ck_assert_int_eq(warn[11], '\0');
    ck_assert_int_eq(warn[12], 'Z');
}
END_TEST

/* ---------------------------------------------------------- driver */

static Suite *
settings_suite(void)
{
    Suite *s = suite_create("settings");
    TCase *tc_parse = tcase_create("parse_long");
    TCase *tc_knob = tcase_create("knob_value");

    tcase_add_test(tc_parse, test_parse_plain);
    tcase_add_test(tc_parse, test_parse_bounds_inclusive);
    tcase_add_test(tc_parse, test_parse_negative);
    tcase_add_test(tc_parse, test_parse_leading_zeros_are_decimal);
    tcase_add_test(tc_parse, test_parse_rejects_empty_and_null);
    tcase_add_test(tc_parse, test_parse_rejects_blanks);
    tcase_add_test(tc_parse, test_parse_rejects_plus);
    tcase_add_test(tc_parse, test_parse_rejects_trailing_text);
    tcase_add_test(tc_parse, test_parse_rejects_hex_and_octal_syntax);
    tcase_add_test(tc_parse, test_parse_overflow);
    suite_add_tcase(s, tc_parse);

    tcase_add_test(tc_knob, test_knob_definitions);
    tcase_add_test(tc_knob, test_knob_unset_gives_default);
    tcase_add_test(tc_knob, test_knob_good_values);
    tcase_add_test(tc_knob, test_knob_bad_check_msec_warning);
    tcase_add_test(tc_knob, test_knob_out_of_range);
    tcase_add_test(tc_knob, test_knob_bad_verbose_warning);
    tcase_add_test(tc_knob, test_knob_empty_value_is_bad);
    tcase_add_test(tc_knob, test_knob_strict_syntax);
    tcase_add_test(tc_knob, test_knob_value_of_40_not_cut);
    tcase_add_test(tc_knob, test_knob_long_value_cut);
    tcase_add_test(tc_knob, test_knob_warning_is_one_line);
    tcase_add_test(tc_knob, test_knob_no_warning_buffer);
    tcase_add_test(tc_knob, test_knob_small_warning_buffer);
    suite_add_tcase(s, tc_knob);

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(settings_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

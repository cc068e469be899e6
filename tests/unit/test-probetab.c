/* test-probetab.c - unit tests for src/probetab.c: the probe names in the
 * order of enum pyusdt_probe, CPython's probes' names and the events they
 * need (pyusdt_events_for), and pyusdt_mask_format (comma-separated names
 * in probe order, "" for 0, -1 when the output is too small, exact
 * boundary sizes, no write past len).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "probetab.h"

#define ALL_MASK ((1u << PYUSDT_NPROBES) - 1)
#define ALL_NAMES "PY_START,PY_RESUME,PY_RETURN,PY_YIELD,CALL,LINE," \
                  "PY_UNWIND,PY_THROW,RAISE"

#define OUT_SIZE 128
#define FILL 'Z'

static char out[OUT_SIZE];

/* Format mask into out with room len; out is 'Z'-filled before. */
static int
format(unsigned int mask, size_t len)
{
    memset(out, FILL, sizeof(out));
    return pyusdt_mask_format(mask, out, len);
}

/* Nothing was written at or after out[from]. */
static void
assert_untouched_from(size_t from)
{
    for (size_t i = from; i < OUT_SIZE; i++) {
        ck_assert_msg(out[i] == FILL, "byte %zu was written", i);
    }
}

/* mask formats as want with exactly enough room, and fails with one less. */
static void
assert_format_exact(unsigned int mask, const char *want)
{
    size_t need = strlen(want) + 1;

    ck_assert_int_eq(format(mask, need), (int)strlen(want));
    ck_assert_str_eq(out, want);
    assert_untouched_from(need);

    ck_assert_int_eq(format(mask, need - 1), -1);
    assert_untouched_from(need - 1);
}

/* ----------------------------------------------------------- names */

START_TEST(test_probe_count)
{
    ck_assert_int_eq(PYUSDT_NPROBES, 9);
}
END_TEST

START_TEST(test_probe_names)
{
    ck_assert_str_eq(pyusdt_probe_name(PYUSDT_PY_START), "PY_START");
    ck_assert_str_eq(pyusdt_probe_name(PYUSDT_PY_RESUME), "PY_RESUME");
    ck_assert_str_eq(pyusdt_probe_name(PYUSDT_PY_RETURN), "PY_RETURN");
    ck_assert_str_eq(pyusdt_probe_name(PYUSDT_PY_YIELD), "PY_YIELD");
    ck_assert_str_eq(pyusdt_probe_name(PYUSDT_CALL), "CALL");
    ck_assert_str_eq(pyusdt_probe_name(PYUSDT_LINE), "LINE");
    ck_assert_str_eq(pyusdt_probe_name(PYUSDT_PY_UNWIND), "PY_UNWIND");
    ck_assert_str_eq(pyusdt_probe_name(PYUSDT_PY_THROW), "PY_THROW");
    ck_assert_str_eq(pyusdt_probe_name(PYUSDT_RAISE), "RAISE");
}
END_TEST

START_TEST(test_probe_name_out_of_range)
{
    ck_assert_ptr_eq(pyusdt_probe_name(-1), NULL);
    ck_assert_ptr_eq(pyusdt_probe_name(PYUSDT_NPROBES), NULL);
    ck_assert_ptr_eq(pyusdt_probe_name(1000), NULL);
}
END_TEST

/* ----------------------------------------------------- mask_format */

START_TEST(test_format_zero)
{
    ck_assert_int_eq(format(0, OUT_SIZE), 0);
    ck_assert_str_eq(out, "");
    /* "" needs only the NUL */
    ck_assert_int_eq(format(0, 1), 0);
    ck_assert_str_eq(out, "");
    assert_untouched_from(1);
}
END_TEST

START_TEST(test_format_len_zero)
{
    ck_assert_int_eq(format(0, 0), -1);
    assert_untouched_from(0);
    ck_assert_int_eq(format(ALL_MASK, 0), -1);
    assert_untouched_from(0);
}
END_TEST

START_TEST(test_format_single_bits)
{
    for (int i = 0; i < PYUSDT_NPROBES; i++) {
        const char *name = pyusdt_probe_name(i);

        ck_assert_int_eq(format(1u << i, OUT_SIZE), (int)strlen(name));
        ck_assert_str_eq(out, name);
    }
}
END_TEST

START_TEST(test_format_probe_order)
{
    unsigned int m = (1u << PYUSDT_RAISE) | (1u << PYUSDT_PY_START);

    ck_assert_int_eq(format(m, OUT_SIZE), 14);
    ck_assert_str_eq(out, "PY_START,RAISE");

    m = (1u << PYUSDT_LINE) | (1u << PYUSDT_CALL) | (1u << PYUSDT_PY_RETURN);
    ck_assert_int_eq(format(m, OUT_SIZE), 19);
    ck_assert_str_eq(out, "PY_RETURN,CALL,LINE");
}
END_TEST

START_TEST(test_format_all)
{
    ck_assert_int_eq(format(ALL_MASK, OUT_SIZE), 72);
    ck_assert_str_eq(out, ALL_NAMES);
    ck_assert_int_eq((int)strlen(ALL_NAMES), 72);
}
END_TEST

START_TEST(test_format_ignores_unknown_bits)
{
    ck_assert_int_eq(format(1u << PYUSDT_NPROBES, OUT_SIZE), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(format(0x80000000u, OUT_SIZE), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(format(~0u, OUT_SIZE), 72);
    ck_assert_str_eq(out, ALL_NAMES);
    ck_assert_int_eq(format((1u << PYUSDT_CALL) | 0xff00000u, OUT_SIZE), 4);
    ck_assert_str_eq(out, "CALL");
}
END_TEST

START_TEST(test_format_boundary_one_name)
{
    assert_format_exact(1u << PYUSDT_PY_START, "PY_START");
    assert_format_exact(1u << PYUSDT_CALL, "CALL");
}
END_TEST

START_TEST(test_format_boundary_two_names)
{
    assert_format_exact((1u << PYUSDT_PY_START) | (1u << PYUSDT_PY_RESUME),
                        "PY_START,PY_RESUME");
    assert_format_exact((1u << PYUSDT_LINE) | (1u << PYUSDT_RAISE),
                        "LINE,RAISE");
}
END_TEST

START_TEST(test_format_boundary_all)
{
    assert_format_exact(ALL_MASK, ALL_NAMES);
}
END_TEST

START_TEST(test_format_every_size)
{
    /* every len from 0 to the exact need: -1 below it, the names at it */
    for (size_t len = 0; len <= 73; len++) {
        int r = format(ALL_MASK, len);

        if (len < 73) {
            ck_assert_msg(r == -1, "len %zu gave %d", len, r);
        }
        else {
            ck_assert_int_eq(r, 72);
            ck_assert_str_eq(out, ALL_NAMES);
        }
        assert_untouched_from(len);
    }
}
END_TEST

START_TEST(test_format_overwrites_old_text)
{
    strcpy(out, "PY_START,PY_RESUME,PY_RETURN");
    ck_assert_int_eq(pyusdt_mask_format(1u << PYUSDT_LINE, out, OUT_SIZE), 4);
    ck_assert_str_eq(out, "LINE");
    ck_assert_int_eq(pyusdt_mask_format(0, out, OUT_SIZE), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

/* ---------------------------------------------------------- driver */

/* ------------------------------------------------- CPython's probes */

START_TEST(test_python_names)
{
    ck_assert_int_eq(PYUSDT_NPYTHON, 3);
    ck_assert_str_eq(pyusdt_python_probe_name(PYUSDT_PYTHON_function__entry),
                     "function__entry");
    ck_assert_str_eq(
        pyusdt_python_probe_name(PYUSDT_PYTHON_function__return),
        "function__return");
    ck_assert_str_eq(pyusdt_python_probe_name(PYUSDT_PYTHON_line), "line");
    ck_assert_ptr_eq(pyusdt_python_probe_name(-1), NULL);
    ck_assert_ptr_eq(pyusdt_python_probe_name(PYUSDT_NPYTHON), NULL);
}
END_TEST

/* The events CPython 3.11 fired its probes on. */
START_TEST(test_events_of_python_probes)
{
    ck_assert_uint_eq(
        pyusdt_events_for(PYUSDT_PYTHON_BIT(function__entry), 0),
        PYUSDT_BIT(PY_START) | PYUSDT_BIT(PY_RESUME) | PYUSDT_BIT(PY_THROW));
    ck_assert_uint_eq(
        pyusdt_events_for(PYUSDT_PYTHON_BIT(function__return), 0),
        PYUSDT_BIT(PY_RETURN) | PYUSDT_BIT(PY_YIELD)
        | PYUSDT_BIT(PY_UNWIND));
    ck_assert_uint_eq(pyusdt_events_for(PYUSDT_PYTHON_BIT(line), 0),
                      PYUSDT_BIT(LINE));
}
END_TEST

/* pyusdt's probes need their own events, whatever the interpreter fires;
 * the two kinds add up. */
START_TEST(test_events_of_own_probes)
{
    ck_assert_uint_eq(pyusdt_events_for(0, 0), 0);
    ck_assert_uint_eq(pyusdt_events_for(ALL_MASK, ~0u), ALL_MASK);
    ck_assert_uint_eq(
        pyusdt_events_for(PYUSDT_BIT(CALL) | PYUSDT_PYTHON_BIT(line), 0),
        PYUSDT_BIT(CALL) | PYUSDT_BIT(LINE));
}
END_TEST

/* A probe the interpreter fires itself needs nothing of pyusdt. */
START_TEST(test_events_left_to_the_interpreter)
{
    unsigned int fires = PYUSDT_PYTHON_BIT(function__entry)
                         | PYUSDT_PYTHON_BIT(function__return);
    unsigned int all = PYUSDT_PYTHON_BIT(function__entry)
                       | PYUSDT_PYTHON_BIT(function__return)
                       | PYUSDT_PYTHON_BIT(line);

    ck_assert_uint_eq(pyusdt_events_for(PYUSDT_PYTHON_BIT(function__entry),
                                        fires), 0);
    ck_assert_uint_eq(pyusdt_events_for(all, fires), PYUSDT_BIT(LINE));
    ck_assert_uint_eq(pyusdt_events_for(all | PYUSDT_BIT(PY_START), fires),
                      PYUSDT_BIT(LINE) | PYUSDT_BIT(PY_START));
}
END_TEST

static Suite *
probetab_suite(void)
{
    Suite *s = suite_create("probetab");
    TCase *tc_name = tcase_create("names");
    TCase *tc_format = tcase_create("mask_format");

    tcase_add_test(tc_name, test_probe_count);
    tcase_add_test(tc_name, test_probe_names);
    tcase_add_test(tc_name, test_probe_name_out_of_range);
    suite_add_tcase(s, tc_name);

    TCase *tc_python = tcase_create("python");
    tcase_add_test(tc_python, test_python_names);
    tcase_add_test(tc_python, test_events_of_python_probes);
    tcase_add_test(tc_python, test_events_of_own_probes);
    tcase_add_test(tc_python, test_events_left_to_the_interpreter);
    suite_add_tcase(s, tc_python);

    tcase_add_test(tc_format, test_format_zero);
    tcase_add_test(tc_format, test_format_len_zero);
    tcase_add_test(tc_format, test_format_single_bits);
    tcase_add_test(tc_format, test_format_probe_order);
    tcase_add_test(tc_format, test_format_all);
    tcase_add_test(tc_format, test_format_ignores_unknown_bits);
    tcase_add_test(tc_format, test_format_boundary_one_name);
    tcase_add_test(tc_format, test_format_boundary_two_names);
    tcase_add_test(tc_format, test_format_boundary_all);
    tcase_add_test(tc_format, test_format_every_size);
    tcase_add_test(tc_format, test_format_overwrites_old_text);
    suite_add_tcase(s, tc_format);

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(probetab_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

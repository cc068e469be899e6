/* test-filter.c - unit tests for src/filter.c: parsing a filter (patterns
 * of names and of files, the limits, the one-line warning for a bad one,
 * which leaves no filter) and matching a function's name, qualified name
 * and file; every set moves the generation on.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

static char warn[256];

static int
set(const char *text)
{
    strcpy(warn, "untouched");
    return pyusdt_filter_set(text, warn, sizeof(warn));
}

START_TEST(test_no_filter_passes_everything)
{
    ck_assert_int_eq(set(NULL), 0);
    ck_assert_int_eq(pyusdt_filter_on, 0);
    ck_assert_ptr_null(pyusdt_filter_text());
    ck_assert_int_eq(pyusdt_filter_match("f", "C.f", "/a/b.py"), 1);
    ck_assert_int_eq(set(""), 0);
    ck_assert_int_eq(pyusdt_filter_on, 0);
}
END_TEST

START_TEST(test_names_and_qualnames)
{
    ck_assert_int_eq(set("target,Engine.*"), 0);
    ck_assert_str_eq(pyusdt_filter_text(), "target,Engine.*");
    ck_assert_int_eq(pyusdt_filter_match("target", "target", "/x.py"), 1);
    ck_assert_int_eq(pyusdt_filter_match("run", "Engine.run", "/x.py"), 1);
    ck_assert_int_eq(pyusdt_filter_match("run", "Other.run", "/x.py"), 0);
    ck_assert_int_eq(pyusdt_filter_match("targets", "targets", "/x.py"), 0);
    /* a name pattern never matches the file */
    ck_assert_int_eq(pyusdt_filter_match("f", "f", "target"), 0);
}
END_TEST

START_TEST(test_files)
{
    ck_assert_int_eq(set("*/myapp/*"), 0);
    ck_assert_int_eq(pyusdt_filter_match("f", "f", "/srv/myapp/a.py"), 1);
    ck_assert_int_eq(pyusdt_filter_match("f", "f", "/srv/myapp/b/c.py"), 1);
    ck_assert_int_eq(pyusdt_filter_match("f", "f", "/srv/other/a.py"), 0);
    /* a file pattern never matches a name */
    ck_assert_int_eq(pyusdt_filter_match("x/myapp/y", "q", "/a.py"), 0);
}
END_TEST

START_TEST(test_bad_filters_leave_none)
{
    char many[200] = "";
    char *longer = malloc(PYUSDT_FILTER_MAX_LEN + 2);

    ck_assert_int_eq(set("a,,b"), -1);
    ck_assert_str_eq(warn, "pyusdt: ignoring the filter: an empty pattern "
                     "(\",,\", or a comma at an end); no filter");
    ck_assert_int_eq(pyusdt_filter_on, 0);
    ck_assert_int_eq(set("a,"), -1);
    ck_assert_int_eq(set(",a"), -1);
    ck_assert_int_eq(set("a\nb"), -1);
    ck_assert_str_eq(warn, "pyusdt: ignoring the filter: a control "
                     "character in it; no filter");
    for (int i = 0; i < 65; i++) {
        strcat(many, i ? ",x" : "x");
    }
    ck_assert_int_eq(set(many), -1);
    ck_assert_str_eq(warn, "pyusdt: ignoring the filter: more than 64 "
                     "patterns; no filter");
    many[strlen(many) - 2] = '\0';      /* 64: fine */
    ck_assert_int_eq(set(many), 0);
    memset(longer, 'f', PYUSDT_FILTER_MAX_LEN + 1);
    longer[PYUSDT_FILTER_MAX_LEN + 1] = '\0';
    ck_assert_int_eq(set(longer), -1);
    ck_assert_int_eq(pyusdt_filter_on, 0);
    longer[PYUSDT_FILTER_MAX_LEN] = '\0';       /* 4096: fine */
    ck_assert_int_eq(set(longer), 0);
    ck_assert_int_eq(pyusdt_filter_on, 1);
    free(longer);
    /* a bad filter after a good one: none */
    ck_assert_int_eq(set("ok"), 0);
    ck_assert_int_eq(set("a,,b"), -1);
    ck_assert_ptr_null(pyusdt_filter_text());
}
END_TEST

START_TEST(test_generation_moves)
{
    unsigned int g = pyusdt_filter_generation;

    set("a");
    ck_assert_uint_ne(pyusdt_filter_generation, g);
    g = pyusdt_filter_generation;
    set(NULL);
    ck_assert_uint_ne(pyusdt_filter_generation, g);
    g = pyusdt_filter_generation;
    set("a,,");
    ck_assert_uint_ne(pyusdt_filter_generation, g);
}
END_TEST

static Suite *
filter_suite(void)
{
    Suite *s = suite_create("filter");
    TCase *tc = tcase_create("filter");

    tcase_add_test(tc, test_no_filter_passes_everything);
    tcase_add_test(tc, test_names_and_qualnames);
    tcase_add_test(tc, test_files);
    tcase_add_test(tc, test_bad_filters_leave_none);
    tcase_add_test(tc, test_generation_moves);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(filter_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

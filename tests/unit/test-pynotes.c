/* test-pynotes.c - unit tests for src/pynotes.c: the probes of provider
 * "python" an ELF file has USDT notes for.  This test program has one,
 * python:function__entry, as an interpreter that fires it has. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include "probetab.h"
#include "pynotes.h"

/* A semaphore and a probe site of CPython's function__entry, as a Python
 * built with DTrace has them. */
__attribute__((used)) volatile unsigned short python_function__entry_semaphore
    __attribute__((section(".probes"))) = 0;

__attribute__((noinline)) static void
fire(const char *file, const char *name, int line)
{
    STAP_PROBE3(python, function__entry, file, name, line);
}

START_TEST(test_own_notes)
{
    fire("f", "g", 1);
    ck_assert_uint_eq(pyusdt_notes_python_probes("/proc/self/exe"),
                      PYUSDT_PYTHON_BIT(function__entry));
}
END_TEST

/* This process is no interpreter with a libpython: its executable's. */
START_TEST(test_interpreter)
{
    ck_assert_uint_eq(pyusdt_interpreter_python_probes(),
                      PYUSDT_PYTHON_BIT(function__entry));
}
END_TEST

START_TEST(test_no_file)
{
    ck_assert_uint_eq(pyusdt_notes_python_probes("/nonexistent/python"), 0);
}
END_TEST

/* Not ELF, and ELF that is cut short: nothing, no crash. */
START_TEST(test_not_elf)
{
    char path[] = "/tmp/pyusdt-notes-XXXXXX";
    int fd = mkstemp(path);
    static const char junk[] = "\x7f" "ELF\2\1\1 not really an ELF file";

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pyusdt_notes_python_probes(path), 0);
    ck_assert_int_eq(write(fd, junk, sizeof(junk)), (int)sizeof(junk));
    ck_assert_int_eq(pyusdt_notes_python_probes(path), 0);
    close(fd);
    unlink(path);
}
END_TEST

/* An ELF file without notes of provider python (a probe library of
 * pyusdt's own has some: they do not count as the interpreter's). */
START_TEST(test_other_elf)
{
    ck_assert_uint_eq(pyusdt_notes_python_probes("/bin/sh"), 0);
}
END_TEST

static Suite *
pynotes_suite(void)
{
    Suite *s = suite_create("pynotes");
    TCase *tc = tcase_create("notes");

    tcase_add_test(tc, test_own_notes);
    tcase_add_test(tc, test_interpreter);
    tcase_add_test(tc, test_no_file);
    tcase_add_test(tc, test_not_elf);
    tcase_add_test(tc, test_other_elf);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(pynotes_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

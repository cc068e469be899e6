/* bare.c - the floor: one USDT probe hit on a C loop, nothing else.
 *
 * Built by bench/run once per probe instruction (SITE_NOP, the asm text
 * of the probe site) with the flags of libpyusdt (-mno-red-zone).
 * usage: bare N REPS - calls site() N times per repetition and prints the
 * fastest repetition's ns per call; with a tracer attached to
 * usdt:PATH:pyusdt_bare:hit the difference to the untraced figure is the
 * cost of one probe hit.  Also prints whether the kernel optimized the
 * uprobe (the site reads back as a call).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sys/sdt.h>

#ifdef SITE_NOP
#undef _SDT_NOP
#define _SDT_NOP bare_site: SITE_NOP
#else
#undef _SDT_NOP
#define _SDT_NOP bare_site: nop
#endif

extern const unsigned char bare_site[];

__attribute__((noinline, noclone)) static void
site(long i)
{
    STAP_PROBE1(pyusdt_bare, hit, i);
}

static double
now_ns(void)
{
    struct timespec ts;

    /* CPU time of this thread (the uprobe's kernel work included), as
     * bench/workloads.py measures: time other processes take does not
     * count */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    double best = 0;

    for (int r = 0; r < reps; r++) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++) {
            site(i);
        }
        double t = (now_ns() - t0) / (double)n;
        if (r == 0 || t < best) {
            best = t;
        }
    }
    printf("{\"ns_per_call\": %.3f, \"optimized\": %s, \"first_byte\": %u}\n",
           best, bare_site[0] == 0xe8 ? "true" : "false", bare_site[0]);
    return 0;
}

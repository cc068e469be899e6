/* redzone.c - does a probe site survive the kernel's optimized uprobe?
 *
 * A kernel that optimizes a uprobe on a 5-byte nop (Linux 6.18 on x86-64)
 * rewrites the nop into a call to a trampoline.  That call, and the
 * trampoline's own pushes, write below the stack pointer: into the red
 * zone, the 128 bytes a leaf function may use without moving %rsp.  Code
 * holding such probe sites must therefore keep nothing there, which is why
 * libpyusdt is built with -mno-red-zone.
 *
 * probed() below is a leaf function that keeps 120 bytes of live data on
 * the stack across its probe site and checks them afterwards.  Built like
 * libpyusdt (PROBE_CFLAGS, pyusdt's probe instruction) the data lives
 * under a moved stack pointer and must survive; built without
 * -mno-red-zone (REDZONE_UNSAFE, always a 5-byte nop) it lives in the red
 * zone and is corrupted whenever the kernel optimizes the uprobe, which
 * shows that the check can fail.
 *
 * usage: redzone N   calls probed() N times, then prints
 *   calls N / corrupted K / site nop1|nop5 / optimized yes|no|untraced
 * where "optimized" is read back from the probe site itself: a call (e8)
 * once the kernel optimized it, an int3 (cc) for a plain uprobe, the nop
 * when no tracer is attached.  Probe: usdt:PATH:pyusdt_redzone:site.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#if defined(__x86_64__)

#include <sys/sdt.h>

/* The probe instruction, with a label on it to read it back. */
#undef _SDT_NOP
#if defined(REDZONE_UNSAFE) || defined(PYUSDT_PROBE_NOP5)
#define SITE_KIND "nop5"
/* 0f 1f 44 00 00, as .nops 5 writes it (no commas: this goes through a
 * macro argument) */
#define _SDT_NOP redzone_site: .byte 0x0f; .byte 0x1f; .byte 0x44; \
    .byte 0; .byte 0
#else
#define SITE_KIND "nop1"
#define _SDT_NOP redzone_site: nop
#endif

extern const unsigned char redzone_site[];

#define WORDS 15

static unsigned long
pattern(unsigned long seed, int i)
{
    return (seed + 1) * 0x9e3779b97f4a7c15UL ^ ((unsigned long)i << 56);
}

/* A leaf: no call, so without -mno-red-zone the compiler keeps `keep`
 * below %rsp without moving it. */
__attribute__((noinline, noclone)) static int
probed(unsigned long seed)
{
    volatile unsigned long keep[WORDS];
    int bad = 0;

    for (int i = 0; i < WORDS; i++) {
        keep[i] = pattern(seed, i);
    }
    __asm__ __volatile__("" ::: "memory");
    STAP_PROBE1(pyusdt_redzone, site, seed);
    __asm__ __volatile__("" ::: "memory");
    for (int i = 0; i < WORDS; i++) {
        bad |= keep[i] != pattern(seed, i);
    }
    return bad;
}

int
main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long corrupted = 0;
    const char *state;

    for (long i = 0; i < n; i++) {
        corrupted += probed((unsigned long)i);
    }
    switch (redzone_site[0]) {
    case 0xe8:
        state = "yes";
        break;
    case 0xcc:
        state = "no";
        break;
    default:
        state = "untraced";
        break;
    }
    printf("calls %ld\ncorrupted %ld\nsite %s\noptimized %s\n", n, corrupted,
           SITE_KIND, state);
    return 0;
}

#else /* !__x86_64__ */

int
main(void)
{
    /* no red zone to speak of, no optimized uprobes */
    printf("site none\n");
    return 0;
}

#endif

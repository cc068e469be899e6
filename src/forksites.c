/* forksites.c - children of a traced process, with 5-byte nop probe
 * sites.  No Python API: this runs in the child of fork(2) before any of
 * its code.
 *
 * Linux 6.18 turns a uprobe on a 5-byte nop into a call to a trampoline in
 * a "[uprobes-trampoline]" mapping once the probe is hit.  fork(2) copies
 * the patched code into the child but not that mapping: the child's first
 * probe hit jumps to an unmapped page and the child dies of SIGSEGV (a
 * multiprocessing worker forked from a traced program, for one).
 *
 * So in the child of any fork (os.fork, multiprocessing, or fork(2) from C:
 * this is a pthread_atfork handler, which runs before any code of the
 * child), each probe site that is neither its nop nor the kernel's
 * breakpoint on it (int3 followed by the rest of the nop) gets that
 * breakpoint back: the child is then exactly as the kernel leaves a child
 * of a program with unoptimized uprobes.  A tracer that traces the child
 * too (system-wide) handles the breakpoint, one that does not (by the
 * parent's PID) removes it and lowers the child's semaphore.
 *
 * The sites are found by comparing the code with a copy taken at import,
 * before any site can have been hit (a site is patched on its first hit):
 * a site differs from the copy only where the kernel patched it.  If a
 * site cannot be restored so, the child's code pages are dropped (it gets
 * the file's plain nops back) and its semaphores zeroed: no tracer attached
 * before the fork sees the child then, but it lives. */
#include "config.h"

/* dl_iterate_phdr() (Python.h defines this in the files that include it) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "forksites.h"
#include "pyusdt-probes.h"

#ifdef PYUSDT_PROBE_NOP5
#define PROBE_TEXT_MAX 65536

static struct {
    uintptr_t start;
    size_t len;
    unsigned char *copy;    /* the code at import */
} probe_text;

static const unsigned char nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
static const unsigned char int3_nop5[5] = {0xcc, 0x1f, 0x44, 0x00, 0x00};

static int
find_probe_text(struct dl_phdr_info *info, size_t size, void *data)
{
    uintptr_t site = (uintptr_t)data;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    (void)size;

    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        uintptr_t hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)
            && site >= lo && site < hi) {
            lo &= ~(page - 1);
            hi = (hi + page - 1) & ~(page - 1);
            probe_text.start = lo;
            probe_text.len = hi - lo;
            return 1;
        }
    }
    return 0;
}

/* Put the breakpoint back at the site at offset i (see above): a
 * compare-and-swap of its first byte to int3, then the rest of the nop.
 * Whatever the kernel does meanwhile is kept: if it restored the nop
 * before the swap, the swap fails; if after, it wrote the same tail.
 * (The child has one thread: only the kernel can change the code.)
 * 0 if the site is a nop or a breakpoint afterwards. */
static int
restore_site(size_t i)
{
    unsigned char *site = (unsigned char *)probe_text.start + i;
    unsigned char seen = __atomic_load_n(site, __ATOMIC_SEQ_CST);

    if (seen == nop5[0]) {
        return 0;
    }
    if (seen != int3_nop5[0]
        && !__atomic_compare_exchange_n(site, &seen, int3_nop5[0], 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        return seen == nop5[0] || seen == int3_nop5[0] ? 0 : -1;
    }
    for (int k = 1; k < 5; k++) {
        __atomic_store_n(site + k, int3_nop5[k], __ATOMIC_SEQ_CST);
    }
    return 0;
}

static void
probes_after_fork_child(void)
{
    const unsigned char *code = (const unsigned char *)probe_text.start;
    int writable = 0, failed = 0;

    if (probe_text.copy == NULL || pyusdt_attached() == 0) {
        return;    /* no tracer attached: nothing was patched */
    }
    for (size_t i = 0; i + 5 <= probe_text.len; i++) {
        const unsigned char *orig = probe_text.copy + i;
        if ((memcmp(orig, nop5, 5) != 0 && memcmp(orig, int3_nop5, 5) != 0)
            || (memcmp(code + i, nop5, 5) == 0
                || memcmp(code + i, int3_nop5, 5) == 0)) {
            continue;
        }
        if (!writable) {
            if (mprotect((void *)probe_text.start, probe_text.len,
                         PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
                failed = 1;
                break;
            }
            writable = 1;
        }
        if (restore_site(i) != 0) {
            failed = 1;
        }
        i += 4;
    }
    if (writable) {
        (void)mprotect((void *)probe_text.start, probe_text.len,
                       PROT_READ | PROT_EXEC);
    }
    if (failed) {
        (void)madvise((void *)probe_text.start, probe_text.len,
                      MADV_DONTNEED);
        pyusdt_semaphores_clear();
    }
}

void
pyusdt_fork_sites_watch(void)
{
    dl_iterate_phdr(find_probe_text, (void *)pyusdt_fire_py_start);
    if (probe_text.len == 0 || probe_text.len > PROBE_TEXT_MAX
        || (probe_text.copy = malloc(probe_text.len)) == NULL) {
        return;
    }
    memcpy(probe_text.copy, (const void *)probe_text.start, probe_text.len);
    pthread_atfork(NULL, NULL, probes_after_fork_child);
}
#else
void
pyusdt_fork_sites_watch(void)
{
}
#endif

/* forksites.h - keep the children of a traced process alive when their
 * probe sites were optimized by the kernel (see forksites.c). */
#ifndef PYUSDT_FORKSITES_H
#define PYUSDT_FORKSITES_H

/* At import: copy the probe library's code and register the fork handler
 * that puts each patched probe site back as the kernel's breakpoint in a
 * child.  Does nothing where the probes are not 5-byte nops. */
void pyusdt_fork_sites_watch(void);

#endif /* PYUSDT_FORKSITES_H */

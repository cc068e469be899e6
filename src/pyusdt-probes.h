/* pyusdt-probes.h - interface of libpyusdt, the library that carries the
 * USDT probes of provider "pyusdt".
 *
 * The library holds no Python code: every Python version on a system loads
 * the same file, so one bpftrace script names one path whatever interpreter
 * runs the program.  Each probe has a semaphore that the kernel raises while
 * a tracer is attached to it; pyusdt_attached() reads them all.
 */
#ifndef PYUSDT_PROBES_H
#define PYUSDT_PROBES_H

#ifdef __cplusplus
extern "C" {
#endif

/* Probe numbers, also bit positions in pyusdt_attached()'s mask.  The order
 * is part of nothing external: scripts name probes, never numbers. */
enum pyusdt_probe {
    PYUSDT_PY_START = 0,
    PYUSDT_PY_RESUME,
    PYUSDT_PY_RETURN,
    PYUSDT_PY_YIELD,
    PYUSDT_CALL,
    PYUSDT_LINE,
    PYUSDT_PY_UNWIND,
    PYUSDT_PY_THROW,
    PYUSDT_RAISE,
    PYUSDT_NPROBES
};

/* The semaphores themselves, for a cheap check right before firing. */
#define PYUSDT_SEMAPHORE_DECL(probe) \
    extern volatile unsigned short pyusdt_##probe##_semaphore
PYUSDT_SEMAPHORE_DECL(PY_START);
PYUSDT_SEMAPHORE_DECL(PY_RESUME);
PYUSDT_SEMAPHORE_DECL(PY_RETURN);
PYUSDT_SEMAPHORE_DECL(PY_YIELD);
PYUSDT_SEMAPHORE_DECL(CALL);
PYUSDT_SEMAPHORE_DECL(LINE);
PYUSDT_SEMAPHORE_DECL(PY_UNWIND);
PYUSDT_SEMAPHORE_DECL(PY_THROW);
PYUSDT_SEMAPHORE_DECL(RAISE);

/* Bit mask of the probes a tracer is attached to right now. */
unsigned int pyusdt_attached(void);

/* Version of the probe ABI this library implements (see pyusdt(7)). */
int pyusdt_probe_abi(void);

/* One function per probe site.  Strings are NUL-terminated UTF-8.
 * "entry" probes: name, file, first line, instruction offset, qualname. */
void pyusdt_fire_py_start(const char *name, const char *file, int firstline,
                          int offset, const char *qualname);
void pyusdt_fire_py_resume(const char *name, const char *file, int firstline,
                           int offset, const char *qualname);

/* "value" probes: as above with arg4 the bounded repr of the value
 * (return value, yielded value, callable, exception) and qualname last. */
void pyusdt_fire_py_return(const char *name, const char *file, int firstline,
                           int offset, const char *repr, const char *qualname);
void pyusdt_fire_py_yield(const char *name, const char *file, int firstline,
                          int offset, const char *repr, const char *qualname);
void pyusdt_fire_call(const char *name, const char *file, int firstline,
                      int offset, const char *repr, const char *qualname);
void pyusdt_fire_py_unwind(const char *name, const char *file, int firstline,
                           int offset, const char *repr, const char *qualname);
void pyusdt_fire_py_throw(const char *name, const char *file, int firstline,
                          int offset, const char *repr, const char *qualname);
void pyusdt_fire_raise(const char *name, const char *file, int firstline,
                       int offset, const char *repr, const char *qualname);

/* LINE: name, file, the line being executed, qualname. */
void pyusdt_fire_line(const char *name, const char *file, int line,
                      const char *qualname);

#ifdef __cplusplus
}
#endif

#endif /* PYUSDT_PROBES_H */

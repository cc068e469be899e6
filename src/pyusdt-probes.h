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

/* Every probe of a sys.monitoring event, once: X(NAME, fire, KIND) with
 * NAME the probe's and the event's name, pyusdt_fire_<fire> its probe
 * site, and KIND its arguments:
 *   ENTRY  name, file, first line, instruction offset, qualname;
 *   VALUE  the same with arg4 the bounded repr of the value (return
 *          value, yielded value, callable, exception), qualname last;
 *   LINE   name, file, the line being executed, qualname.
 * Strings are NUL-terminated UTF-8.  The enum, the semaphores, the probe
 * sites, the names and the callbacks are all made from this list. */
#define PYUSDT_FOR_EACH_PROBE(X) \
    X(PY_START, py_start, ENTRY) \
    X(PY_RESUME, py_resume, ENTRY) \
    X(PY_RETURN, py_return, VALUE) \
    X(PY_YIELD, py_yield, VALUE) \
    X(CALL, call, VALUE) \
    X(LINE, line, LINE) \
    X(PY_UNWIND, py_unwind, VALUE) \
    X(PY_THROW, py_throw, VALUE) \
    X(RAISE, raise, VALUE)

/* Probe numbers, also bit positions in pyusdt_attached()'s mask.  The order
 * is part of nothing external: scripts name probes, never numbers. */
enum pyusdt_probe {
#define PYUSDT_ENUM_ITEM(NAME, fire, KIND) PYUSDT_##NAME,
    PYUSDT_FOR_EACH_PROBE(PYUSDT_ENUM_ITEM)
#undef PYUSDT_ENUM_ITEM
    PYUSDT_NPROBES
};

/* The semaphores themselves, for a cheap check right before firing. */
#define PYUSDT_SEMAPHORE_DECL(NAME, fire, KIND) \
    extern volatile unsigned short pyusdt_##NAME##_semaphore;
PYUSDT_FOR_EACH_PROBE(PYUSDT_SEMAPHORE_DECL)
#undef PYUSDT_SEMAPHORE_DECL

/* Bit mask of the probes a tracer is attached to right now. */
unsigned int pyusdt_attached(void);

/* STACK_LAYOUT, the probe that is no sys.monitoring event: it tells a
 * script that reads Python stacks from BPF where this interpreter keeps
 * them.  arg0 the layout's version, arg1 the address of the layout (a
 * struct of 64-bit fields, described in pyusdt(7)), arg2 its size.  The
 * poller fires it on every poll while a tracer is attached to it. */
extern volatile unsigned short pyusdt_STACK_LAYOUT_semaphore;
void pyusdt_fire_stack_layout(unsigned long version, const void *layout,
                              unsigned long size);

/* Lower every semaphore, STACK_LAYOUT's too (a fork child whose probe
 * sites could not be restored: no tracer attached before the fork sees
 * it). */
void pyusdt_semaphores_clear(void);

/* Version of the probe ABI this library implements (see pyusdt(7)). */
int pyusdt_probe_abi(void);

/* The probe sites, one function each. */
#define PYUSDT_FIRE_ARGS_ENTRY \
    (const char *name, const char *file, int firstline, int offset, \
     const char *qualname)
#define PYUSDT_FIRE_ARGS_VALUE \
    (const char *name, const char *file, int firstline, int offset, \
     const char *repr, const char *qualname)
#define PYUSDT_FIRE_ARGS_LINE \
    (const char *name, const char *file, int line, const char *qualname)
#define PYUSDT_FIRE_DECL(NAME, fire, KIND) \
    void pyusdt_fire_##fire PYUSDT_FIRE_ARGS_##KIND;
PYUSDT_FOR_EACH_PROBE(PYUSDT_FIRE_DECL)
#undef PYUSDT_FIRE_DECL

#ifdef __cplusplus
}
#endif

#endif /* PYUSDT_PROBES_H */

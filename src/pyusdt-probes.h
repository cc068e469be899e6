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

/* Every probe of a sys.monitoring event, once: X(NAME, fire, KIND,
 * PYTHON) with NAME the probe's and the event's name, pyusdt_fire_<fire>
 * its probe site, PYTHON the probe of CPython's the event fires too (see
 * PYUSDT_FOR_EACH_PYTHON_PROBE), and KIND its arguments:
 *   ENTRY  name, file, first line, instruction offset, qualname,
 *          location;
 *   VALUE  name, file, first line, instruction offset, the bounded repr
 *          of the value (return value, yielded value, callable,
 *          exception), qualname;
 *   LINE   name, file, the line being executed, qualname, location.
 * The location is "QUALNAME (FILE:FIRSTLINE)", one string per function,
 * so that a map keyed by it names functions as the folded stacks do.
 * VALUE probes have no location: bpftrace 0.23 reads no arg6, and a
 * seventh argument would go on the stack.
 * Strings are NUL-terminated UTF-8.  The enum, the semaphores, the probe
 * sites, the names and the callbacks are all made from this list. */
#define PYUSDT_FOR_EACH_PROBE(X) \
    X(PY_START, py_start, ENTRY, ENTRY_FIRST) \
    X(PY_RESUME, py_resume, ENTRY, ENTRY_AT) \
    X(PY_RETURN, py_return, VALUE, RETURN_AT) \
    X(PY_YIELD, py_yield, VALUE, RETURN_AT) \
    X(CALL, call, VALUE, NONE) \
    X(LINE, line, LINE, LINE) \
    X(PY_UNWIND, py_unwind, VALUE, RETURN_AT) \
    X(PY_THROW, py_throw, VALUE, ENTRY_AT) \
    X(RAISE, raise, VALUE, NONE)

/* CPython's own probes, provider "python" (its Doc/howto/instrumentation
 * .rst), which Python 3.12 to 3.14 no longer fire: X(NAME, fire), with
 * arguments filename (co_filename), funcname (co_name) and lineno.  They
 * fire from the events CPython 3.11 fired them on, the PYTHON column of
 * PYUSDT_FOR_EACH_PROBE:
 *   ENTRY_FIRST  function__entry at the function's first line (a call)
 *   ENTRY_AT     function__entry at the line where the frame goes on (a
 *                generator resumed, an exception thrown into it)
 *   RETURN_AT    function__return at the line of the return, the yield
 *                or the exception
 *   LINE         line, at the line about to run
 *   NONE         none */
#define PYUSDT_FOR_EACH_PYTHON_PROBE(X) \
    X(function__entry, function_entry) \
    X(function__return, function_return) \
    X(line, line)

/* Probe numbers, also bit positions in pyusdt_attached()'s mask.  The order
 * is part of nothing external: scripts name probes, never numbers. */
enum pyusdt_probe {
#define PYUSDT_ENUM_ITEM(NAME, fire, KIND, PYTHON) PYUSDT_##NAME,
    PYUSDT_FOR_EACH_PROBE(PYUSDT_ENUM_ITEM)
#undef PYUSDT_ENUM_ITEM
    PYUSDT_NPROBES
};
#define PYUSDT_BIT(NAME) (1u << PYUSDT_##NAME)

/* The events sys.monitoring calls local (they happen at a code location):
 * their callbacks may return sys.monitoring.DISABLE, which the filter
 * uses.  RAISE, PY_UNWIND and PY_THROW may not. */
#define PYUSDT_LOCAL_EVENTS \
    (PYUSDT_BIT(PY_START) | PYUSDT_BIT(PY_RESUME) | PYUSDT_BIT(PY_RETURN) \
     | PYUSDT_BIT(PY_YIELD) | PYUSDT_BIT(CALL) | PYUSDT_BIT(LINE))

/* CPython's probes have the bits from PYUSDT_PYTHON_SHIFT on. */
#define PYUSDT_PYTHON_SHIFT 16
enum pyusdt_python_probe {
#define PYUSDT_PYTHON_ENUM_ITEM(NAME, fire) PYUSDT_PYTHON_##NAME,
    PYUSDT_FOR_EACH_PYTHON_PROBE(PYUSDT_PYTHON_ENUM_ITEM)
#undef PYUSDT_PYTHON_ENUM_ITEM
    PYUSDT_NPYTHON
};
#define PYUSDT_PYTHON_BIT(NAME) \
    (1u << (PYUSDT_PYTHON_SHIFT + PYUSDT_PYTHON_##NAME))
/* The bit of the probe of a PYTHON column's value. */
#define PYUSDT_PYTHON_OF_NONE 0u
#define PYUSDT_PYTHON_OF_ENTRY_FIRST PYUSDT_PYTHON_BIT(function__entry)
#define PYUSDT_PYTHON_OF_ENTRY_AT PYUSDT_PYTHON_BIT(function__entry)
#define PYUSDT_PYTHON_OF_RETURN_AT PYUSDT_PYTHON_BIT(function__return)
#define PYUSDT_PYTHON_OF_LINE PYUSDT_PYTHON_BIT(line)

/* The semaphores themselves, for a cheap check right before firing. */
#define PYUSDT_SEMAPHORE_DECL(NAME, fire, KIND, PYTHON) \
    extern volatile unsigned short pyusdt_##NAME##_semaphore;
PYUSDT_FOR_EACH_PROBE(PYUSDT_SEMAPHORE_DECL)
#undef PYUSDT_SEMAPHORE_DECL

/* CPython's probes' semaphores, by number.  The semaphores themselves
 * (python_NAME_semaphore, as sys/sdt.h names them) are hidden: an
 * interpreter that fires these probes itself exports semaphores of the
 * same names, which would otherwise be read in place of these. */
extern volatile unsigned short *const pyusdt_python_semaphore[];

/* Bit mask of the probes a tracer is attached to right now, CPython's
 * from bit PYUSDT_PYTHON_SHIFT on. */
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
     const char *qualname, const char *location)
#define PYUSDT_FIRE_ARGS_VALUE \
    (const char *name, const char *file, int firstline, int offset, \
     const char *repr, const char *qualname)
#define PYUSDT_FIRE_ARGS_LINE \
    (const char *name, const char *file, int line, const char *qualname, \
     const char *location)
#define PYUSDT_FIRE_DECL(NAME, fire, KIND, PYTHON) \
    void pyusdt_fire_##fire PYUSDT_FIRE_ARGS_##KIND;
PYUSDT_FOR_EACH_PROBE(PYUSDT_FIRE_DECL)
#undef PYUSDT_FIRE_DECL
#define PYUSDT_PYTHON_FIRE_DECL(NAME, fire) \
    void pyusdt_fire_python_##fire(const char *filename, \
                                   const char *funcname, int lineno);
PYUSDT_FOR_EACH_PYTHON_PROBE(PYUSDT_PYTHON_FIRE_DECL)
#undef PYUSDT_PYTHON_FIRE_DECL

#ifdef __cplusplus
}
#endif

#endif /* PYUSDT_PROBES_H */

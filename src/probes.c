/* probes.c - the USDT probe sites and their semaphores (libpyusdt).
 *
 * This file is built with -mno-red-zone on x86-64: a kernel that optimizes
 * a uprobe on a 5-byte nop replaces it with a call, and that call pushes a
 * return address below the stack pointer, where red-zone code keeps data.
 */
#include "config.h"

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#ifdef PYUSDT_PROBE_NOP5
/* One 5-byte nop (0f 1f 44 00 00) instead of sdt.h's 1-byte nop: the
 * kernel can turn a uprobe on it into a call to a trampoline, about twice
 * as cheap per hit as the int3 trap.  Kernels without that optimization
 * trap on it like on any other instruction. */
#undef _SDT_NOP
#define _SDT_NOP .nops 5
#endif

/* sys/sdt.h makes each probe site compute its semaphore's address (an
 * empty asm with the semaphore as operand, to keep it referenced): one
 * GOT load per hit for nothing here, where the semaphores are exported
 * and referenced by the probe notes anyway. */
#undef _SDT_NOTE_SEMAPHORE_USE
#define _SDT_NOTE_SEMAPHORE_USE(provider, name)

#include "pyusdt-probes.h"

#define PYUSDT_VISIBLE __attribute__((visibility("default")))

/* The semaphores: 16-bit counters in section .probes, named as sys/sdt.h
 * expects (provider_probe_semaphore).  The kernel raises them. */
#define SEMAPHORE(probe) \
    PYUSDT_VISIBLE volatile unsigned short pyusdt_##probe##_semaphore \
        __attribute__((section(".probes"))) = 0

SEMAPHORE(PY_START);
SEMAPHORE(PY_RESUME);
SEMAPHORE(PY_RETURN);
SEMAPHORE(PY_YIELD);
SEMAPHORE(CALL);
SEMAPHORE(LINE);
SEMAPHORE(PY_UNWIND);
SEMAPHORE(PY_THROW);
SEMAPHORE(RAISE);

PYUSDT_VISIBLE unsigned int
pyusdt_attached(void)
{
    unsigned int mask = 0;

#define BIT(probe) \
    if (pyusdt_##probe##_semaphore) { \
        mask |= 1u << PYUSDT_##probe; \
    }
    BIT(PY_START)
    BIT(PY_RESUME)
    BIT(PY_RETURN)
    BIT(PY_YIELD)
    BIT(CALL)
    BIT(LINE)
    BIT(PY_UNWIND)
    BIT(PY_THROW)
    BIT(RAISE)
#undef BIT
    return mask;
}

PYUSDT_VISIBLE int
pyusdt_probe_abi(void)
{
    return PYUSDT_PROBE_ABI;
}

/* The fire functions are not inlined anywhere (they are the probe sites)
 * and do nothing but the probe: arguments stay in registers. */
#define ENTRY_PROBE(fn, probe) \
    PYUSDT_VISIBLE void \
    fn(const char *name, const char *file, int firstline, int offset, \
       const char *qualname) \
    { \
        STAP_PROBE5(pyusdt, probe, name, file, firstline, offset, qualname); \
    }

#define VALUE_PROBE(fn, probe) \
    PYUSDT_VISIBLE void \
    fn(const char *name, const char *file, int firstline, int offset, \
       const char *repr, const char *qualname) \
    { \
        STAP_PROBE6(pyusdt, probe, name, file, firstline, offset, repr, \
                    qualname); \
    }

ENTRY_PROBE(pyusdt_fire_py_start, PY_START)
ENTRY_PROBE(pyusdt_fire_py_resume, PY_RESUME)
VALUE_PROBE(pyusdt_fire_py_return, PY_RETURN)
VALUE_PROBE(pyusdt_fire_py_yield, PY_YIELD)
VALUE_PROBE(pyusdt_fire_call, CALL)
VALUE_PROBE(pyusdt_fire_py_unwind, PY_UNWIND)
VALUE_PROBE(pyusdt_fire_py_throw, PY_THROW)
VALUE_PROBE(pyusdt_fire_raise, RAISE)

PYUSDT_VISIBLE void
pyusdt_fire_line(const char *name, const char *file, int line,
                 const char *qualname)
{
    STAP_PROBE4(pyusdt, LINE, name, file, line, qualname);
}

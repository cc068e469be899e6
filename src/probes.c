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
#define SEMAPHORE(NAME, fire, KIND, PYTHON) \
    PYUSDT_VISIBLE volatile unsigned short pyusdt_##NAME##_semaphore \
        __attribute__((section(".probes"))) = 0;
PYUSDT_FOR_EACH_PROBE(SEMAPHORE)
SEMAPHORE(STACK_LAYOUT, stack_layout, LAYOUT, NONE)
#undef SEMAPHORE

/* CPython's probes' semaphores, hidden (see pyusdt-probes.h), and the
 * table that lets the extension read them. */
#define PYTHON_SEMAPHORE(NAME, fire) \
    __attribute__((visibility("hidden"))) \
    volatile unsigned short python_##NAME##_semaphore \
        __attribute__((section(".probes"))) = 0;
PYUSDT_FOR_EACH_PYTHON_PROBE(PYTHON_SEMAPHORE)
#undef PYTHON_SEMAPHORE

PYUSDT_VISIBLE volatile unsigned short *const
pyusdt_python_semaphore[PYUSDT_NPYTHON] = {
#define PYTHON_SEMAPHORE_ITEM(NAME, fire) \
    [PYUSDT_PYTHON_##NAME] = &python_##NAME##_semaphore,
    PYUSDT_FOR_EACH_PYTHON_PROBE(PYTHON_SEMAPHORE_ITEM)
#undef PYTHON_SEMAPHORE_ITEM
};

PYUSDT_VISIBLE unsigned int
pyusdt_attached(void)
{
    unsigned int mask = 0;

#define BIT(NAME, fire, KIND, PYTHON) \
    if (pyusdt_##NAME##_semaphore) { \
        mask |= 1u << PYUSDT_##NAME; \
    }
    PYUSDT_FOR_EACH_PROBE(BIT)
#undef BIT
#define PYTHON_BIT(NAME, fire) \
    if (python_##NAME##_semaphore) { \
        mask |= PYUSDT_PYTHON_BIT(NAME); \
    }
    PYUSDT_FOR_EACH_PYTHON_PROBE(PYTHON_BIT)
#undef PYTHON_BIT
    return mask;
}

PYUSDT_VISIBLE void
pyusdt_semaphores_clear(void)
{
#define CLEAR(NAME, fire, KIND, PYTHON) pyusdt_##NAME##_semaphore = 0;
    PYUSDT_FOR_EACH_PROBE(CLEAR)
    CLEAR(STACK_LAYOUT, stack_layout, LAYOUT, NONE)
#undef CLEAR
#define PYTHON_CLEAR(NAME, fire) python_##NAME##_semaphore = 0;
    PYUSDT_FOR_EACH_PYTHON_PROBE(PYTHON_CLEAR)
#undef PYTHON_CLEAR
}

PYUSDT_VISIBLE int
pyusdt_probe_abi(void)
{
    return PYUSDT_PROBE_ABI;
}

/* The fire functions are not inlined anywhere (they are the probe sites)
 * and do nothing but the probe: arguments stay in registers. */
#define SITE_ENTRY(NAME) \
    STAP_PROBE6(pyusdt, NAME, name, file, firstline, offset, qualname, \
                location)
#define SITE_VALUE(NAME) \
    STAP_PROBE6(pyusdt, NAME, name, file, firstline, offset, repr, qualname)
#define SITE_LINE(NAME) \
    STAP_PROBE5(pyusdt, NAME, name, file, line, qualname, location)
#define FIRE(NAME, fire, KIND, PYTHON) \
    PYUSDT_VISIBLE void \
    pyusdt_fire_##fire PYUSDT_FIRE_ARGS_##KIND \
    { \
        SITE_##KIND(NAME); \
    }
PYUSDT_FOR_EACH_PROBE(FIRE)
#undef FIRE

/* CPython's probes, with its argument order and types. */
#define PYTHON_FIRE(NAME, fire) \
    PYUSDT_VISIBLE void \
    pyusdt_fire_python_##fire(const char *filename, const char *funcname, \
                              int lineno) \
    { \
        STAP_PROBE3(python, NAME, filename, funcname, lineno); \
    }
PYUSDT_FOR_EACH_PYTHON_PROBE(PYTHON_FIRE)
#undef PYTHON_FIRE

PYUSDT_VISIBLE void
pyusdt_fire_stack_layout(unsigned long version, const void *layout,
                         unsigned long size)
{
    STAP_PROBE3(pyusdt, STACK_LAYOUT, version, layout, size);
}

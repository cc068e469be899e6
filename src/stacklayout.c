/* stacklayout.c - where this interpreter keeps its Python stacks.
 *
 * A script can read the Python stack of whatever thread is on a CPU at
 * any probe (a system call, sched_switch, profile:hz) from the
 * interpreter's own frames, without any sys.monitoring event: the thread's
 * PyThreadState points to its innermost _PyInterpreterFrame, each frame
 * to its caller and its code object.  The offsets come from the internal
 * headers pyusdt is built against (this file alone is built as core code
 * for them) and are checked at import against the _Py_DebugOffsets the
 * interpreter itself publishes for debuggers: on a mismatch, no layout is
 * announced and nothing reads wrong memory.
 *
 * The thread's PyThreadState is found from the thread pointer (fs), at
 * the same offset in every thread.  CPython keeps it twice: in a
 * thread-local slot cleared while the thread has let go of the
 * interpreter (blocked in a system call), and as the thread's GIL state,
 * which stays (a static thread-local in 3.15, thread-specific data of
 * glibc's thread descriptor before).  The one that stays is found at
 * import, as the one word near the thread pointer that holds
 * PyThreadState_Get()'s value both while holding the GIL and not, and is
 * announced: a blocked thread's stack can be read too.  Where there is
 * no such word (a libpython loaded with dlopen() has its thread-locals
 * elsewhere), or PYUSDT_STACK_TLS=0 asks for it, the offset announced is
 * 0 and scripts walk the main interpreter's list of threads instead, to
 * the one whose native_thread_id is the thread's id: a few reads more
 * per thread ahead of it in the list.
 */
#include "config.h"

#define Py_BUILD_CORE 1
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_debug_offsets.h"
#include "internal/pycore_interpframe_structs.h"
#include "internal/pycore_stackref.h"
#include "internal/pycore_interp_structs.h"
#elif PY_VERSION_HEX >= 0x030D0000
#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#endif

#include "pyusdt-probes.h"
#include "stacklayout.h"

static struct pyusdt_stack_layout layout;
static const char *unusable = "not looked at yet";
/* What scripts print for a name that is not compact ASCII: they read it
 * from here with the same read as a name, with no branch to verify.
 * Written at import, not a constant: a BPF program cannot fault a page
 * in, and a page of constants that the process never touched may not be
 * mapped (the name then read as ""); a written page stays. */
static char non_ascii_name[sizeof("<non-ASCII>")];

#if PY_VERSION_HEX >= 0x030D0000 && defined(__x86_64__)

/* The words searched around the thread pointer: below it, the static TLS
 * blocks (the executable's nearest); above it, glibc's thread descriptor,
 * whose thread-specific data holds the GIL state's PyThreadState where
 * CPython keeps it under a pthread key (3.13, 3.14). */
#define TLS_BELOW 2048
#define TLS_ABOVE 4096
#define TLS_WORDS ((TLS_BELOW + TLS_ABOVE) / 8)

static uintptr_t
thread_pointer(void)
{
    uintptr_t tp;

    /* the TCB starts with a pointer to itself, at fs:0 */
    __asm__ ("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}

/* Copy the words around tp without risking a fault: a page that cannot be
 * read reads as zeros. */
static void
read_around(uintptr_t tp, uintptr_t *words)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = tp - TLS_BELOW, hi = tp + TLS_ABOVE;

    memset(words, 0, TLS_WORDS * 8);
    for (uintptr_t a = lo; a < hi;) {
        uintptr_t end = (a & ~(page - 1)) + page;
        struct iovec local, remote;
        if (end > hi) {
            end = hi;
        }
        local.iov_base = (char *)words + (a - lo);
        local.iov_len = end - a;
        remote.iov_base = (void *)a;
        remote.iov_len = end - a;
        if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0)
            != (ssize_t)(end - a)) {
            memset(local.iov_base, 0, end - a);
        }
        a = end;
    }
}

/* The offset from fs of the one word that holds this thread's
 * PyThreadState whether or not the thread holds the GIL, or 0. */
static int64_t
find_tstate_slot(void)
{
    static uintptr_t held[TLS_WORDS], released[TLS_WORDS];
    uintptr_t tp = thread_pointer();
    uintptr_t ts = (uintptr_t)PyThreadState_Get();
    int64_t found = 0;
    int n = 0;

    read_around(tp, held);
    Py_BEGIN_ALLOW_THREADS
    read_around(tp, released);
    Py_END_ALLOW_THREADS
    for (size_t i = 0; i < TLS_WORDS; i++) {
        if (held[i] == ts && released[i] == ts) {
            found = (int64_t)(i * 8) - TLS_BELOW;
            n++;
        }
    }
    return n == 1 ? found : 0;
}

/* Where a compact ASCII str's state bits are, whatever the compiler does
 * with the bit-fields. */
static uint64_t
ascii_state_bits(void)
{
    PyASCIIObject o;
    uint32_t bits;

    memset(&o, 0, sizeof(o));
    o.state.compact = 1;
    o.state.ascii = 1;
    memcpy(&bits, &o.state, sizeof(bits));
    return bits;
}

/* The build-time layout against the interpreter's own offsets. */
static const char *
check_debug_offsets(void)
{
    const _Py_DebugOffsets *d = &_PyRuntime.debug_offsets;

    if (memcmp(d->cookie, _Py_Debug_Cookie, sizeof(d->cookie)) != 0) {
        return "the interpreter publishes no _Py_DebugOffsets";
    }
    if (d->free_threaded) {
        return "free-threaded interpreters are not supported";
    }
    if (d->thread_state.current_frame != layout.tstate_current_frame
        || d->interpreter_frame.previous != layout.frame_previous
        || d->interpreter_frame.executable != layout.frame_executable
        || d->interpreter_frame.owner != layout.frame_owner
        || d->code_object.qualname != layout.code_qualname
        || d->code_object.filename != layout.code_filename
        || d->code_object.firstlineno != layout.code_firstlineno
        || d->pyobject.ob_type != layout.object_type
        || d->unicode_object.state != layout.unicode_state
        || d->unicode_object.asciiobject_size != layout.unicode_ascii_text
        || d->interpreter_state.threads_head
           != offsetof(PyInterpreterState, threads.head)
        || d->thread_state.next != layout.tstate_next
        || d->thread_state.native_thread_id != layout.tstate_native_id) {
        return "the interpreter's _Py_DebugOffsets differ from the "
               "headers pyusdt was built with";
    }
    return NULL;
}

int
pyusdt_stack_layout_init(int use_tls, const char **why)
{
    layout.version = PYUSDT_STACK_LAYOUT_VERSION;
    layout.tstate_current_frame = offsetof(PyThreadState, current_frame);
    layout.frame_previous = offsetof(_PyInterpreterFrame, previous);
    layout.frame_executable = offsetof(_PyInterpreterFrame, f_executable);
    layout.frame_owner = offsetof(_PyInterpreterFrame, owner);
#if PY_VERSION_HEX >= 0x030E0000
    /* owners from FRAME_OWNED_BY_INTERPRETER on are the interpreter's
     * entry frames; f_executable is a tagged _PyStackRef */
    layout.owner_not_python = FRAME_OWNED_BY_INTERPRETER;
    layout.executable_tag = Py_TAG_BITS;
#else
    layout.owner_not_python = FRAME_OWNED_BY_CSTACK;
    layout.executable_tag = 0;
#endif
    layout.object_type = offsetof(PyObject, ob_type);
    layout.code_type = (uint64_t)(uintptr_t)&PyCode_Type;
    layout.code_qualname = offsetof(PyCodeObject, co_qualname);
    layout.code_filename = offsetof(PyCodeObject, co_filename);
    layout.code_firstlineno = offsetof(PyCodeObject, co_firstlineno);
    layout.unicode_state = offsetof(PyASCIIObject, state);
    layout.unicode_ascii = ascii_state_bits();
    layout.unicode_ascii_text = sizeof(PyASCIIObject);
    memcpy(non_ascii_name, "<non-ASCII>", sizeof(non_ascii_name));
    layout.non_ascii_name = (uint64_t)(uintptr_t)non_ascii_name;
    layout.thread_list =
        (uint64_t)(uintptr_t)&PyInterpreterState_Main()->threads.head;
    layout.tstate_next = offsetof(PyThreadState, next);
    layout.tstate_native_id = offsetof(PyThreadState, native_thread_id);
    unusable = check_debug_offsets();
    if (unusable == NULL && use_tls) {
        /* 0 when not found: scripts walk the thread list */
        layout.tstate_tls = find_tstate_slot();
    }
    *why = unusable;
    return unusable == NULL ? 0 : -1;
}

#else

int
pyusdt_stack_layout_init(int use_tls, const char **why)
{
    (void)use_tls;
#if defined(__x86_64__)
    unusable = "Python stacks need Python 3.13 or later";
#else
    unusable = "Python stacks are read on x86-64 only";
#endif
    *why = unusable;
    return -1;
}

#endif

const char *
pyusdt_stack_layout_threads(void)
{
    if (unusable != NULL) {
        return NULL;
    }
    return layout.tstate_tls != 0 ? "tls" : "list";
}

void
pyusdt_stack_layout_announce(void)
{
    static int warned;

    if (!pyusdt_STACK_LAYOUT_semaphore) {
        return;
    }
    if (unusable == NULL) {
        pyusdt_fire_stack_layout(PYUSDT_STACK_LAYOUT_VERSION, &layout,
                                 sizeof(layout));
    }
    else if (!warned) {
        /* from any thread, without the GIL: straight to fd 2 */
        char line[256];
        int n = snprintf(line, sizeof(line),
                         "pyusdt: no Python stacks for this process: %s\n",
                         unusable);
        warned = 1;
        if (n > 0) {
            (void)!write(2, line, (size_t)n < sizeof(line)
                                  ? (size_t)n : sizeof(line) - 1);
        }
    }
}

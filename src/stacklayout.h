/* stacklayout.h - what a BPF program needs to read this interpreter's
 * Python stacks, announced through the STACK_LAYOUT probe. */
#ifndef PYUSDT_STACKLAYOUT_H
#define PYUSDT_STACKLAYOUT_H

#include <stdint.h>

/* The layout, version 1.  Every field is 64 bits, so that a script reads
 * field N at offset 8 * N (pyusdt(7) lists them).  Offsets are in bytes. */
#define PYUSDT_STACK_LAYOUT_VERSION 1
struct pyusdt_stack_layout {
    uint64_t version;               /*  0: PYUSDT_STACK_LAYOUT_VERSION */
    int64_t tstate_tls;             /*  1: the thread's PyThreadState *,
                                     *     from the thread pointer (fs);
                                     *     0: find it in the thread list */
    uint64_t tstate_current_frame;  /*  2: PyThreadState: innermost frame */
    uint64_t frame_previous;        /*  3: _PyInterpreterFrame: caller */
    uint64_t frame_executable;      /*  4: its code object (tagged) */
    uint64_t frame_owner;           /*  5: its owner (a byte) */
    uint64_t owner_not_python;      /*  6: owners from this on: C frames */
    uint64_t executable_tag;        /*  7: bits to clear in executable */
    uint64_t object_type;           /*  8: PyObject: ob_type */
    uint64_t code_type;             /*  9: &PyCode_Type */
    uint64_t code_qualname;         /* 10: PyCodeObject: co_qualname */
    uint64_t code_filename;         /* 11: co_filename */
    uint64_t code_firstlineno;      /* 12: co_firstlineno (an int) */
    uint64_t unicode_state;         /* 13: PyASCIIObject: state (32 bits) */
    uint64_t unicode_ascii;         /* 14: state bits of a compact ASCII
                                     *     str (both set) */
    uint64_t unicode_ascii_text;    /* 15: where its text starts */
    uint64_t non_ascii_name;        /* 16: the address of the text
                                     *     "<non-ASCII>", in this process:
                                     *     what a script reads in place of
                                     *     a name that is not ASCII */
    uint64_t thread_list;           /* 17: the address of the main
                                     *     interpreter's first
                                     *     PyThreadState * */
    uint64_t tstate_next;           /* 18: PyThreadState: the next one */
    uint64_t tstate_native_id;      /* 19: its thread's id (gettid(),
                                     *     an unsigned long) */
};

/* Work the layout out (GIL held, at import): the build-time offsets,
 * checked against the interpreter's own _Py_DebugOffsets, and the TLS
 * slot of the thread's PyThreadState, unless use_tls is 0 (then scripts
 * walk the interpreter's thread list).  Returns 0, or -1 when stacks
 * cannot be read here (then why says why); nothing is announced then. */
int pyusdt_stack_layout_init(int use_tls, const char **why);

/* How scripts find a thread's PyThreadState: "tls", "list", or NULL
 * when there are no stacks. */
const char *pyusdt_stack_layout_threads(void);

/* Fire STACK_LAYOUT if a tracer is attached to it (any thread, no GIL
 * needed); the first time with no usable layout, one warning instead. */
void pyusdt_stack_layout_announce(void);

#endif /* PYUSDT_STACKLAYOUT_H */

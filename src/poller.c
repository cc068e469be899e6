/* poller.c - watch the semaphores from a plain thread.
 *
 * The thread stays out of the C API except on a change of the attached
 * set, when it takes the GIL to switch events.  It is stopped before
 * finalization (atexit) and before fork, since a thread that asks for the
 * GIL during finalization is killed or hangs, and since os.fork() warns
 * about any thread besides the main one.
 */
#include "config.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "poller.h"
#include "pyusdt-probes.h"

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int running;            /* a thread exists (owned by the GIL holder) */
    int joining;            /* a stop() waits for it, GIL released */
    pid_t pid;              /* the process that made the thread */
    pid_t tid;              /* its kernel thread id, set by the thread */
    int stop;               /* under lock */
    int interval_ms;
    unsigned int seen;      /* owned by the thread while it runs */
    pyusdt_change_fn on_change;
    pyusdt_tick_fn on_tick;
    pyusdt_due_fn due;
} poller = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

static void
deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec += 1;
        ts->tv_nsec -= 1000000000L;
    }
}

static int
finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

/* Switch the events to the semaphores as they are once we hold the GIL;
 * returns the mask applied.  Not the mask that made us ask for the GIL:
 * while we waited, refresh() may have applied a newer one (a tracer that
 * attached probe by probe), which that older mask would undo until the
 * next poll -- every event of the probes it lacks lost meanwhile. */
static unsigned int
apply_change(unsigned int mask)
{
    PyGILState_STATE g;

    /* The exit hook stops the thread before finalization.  Should the
     * program have removed that hook (atexit._clear()), a thread asking
     * for the GIL now would be killed, hang, or crash once the runtime is
     * gone: leave the events as they are. */
    if (finalizing()) {
        return mask;
    }
    g = PyGILState_Ensure();
    mask = pyusdt_attached();
    poller.on_change(mask);
    PyGILState_Release(g);
    return mask;
}

static void *
poll_loop(void *arg)
{
    struct timespec deadline;
    (void)arg;

    poller.tid = (pid_t)syscall(SYS_gettid);
    pthread_mutex_lock(&poller.lock);
    while (!poller.stop) {
        unsigned int mask = pyusdt_attached();
        if (mask != poller.seen || (mask == 0 && poller.due())) {
            /* the GIL is taken without our lock held: stop() joins us
             * with the GIL released, never while holding the lock */
            pthread_mutex_unlock(&poller.lock);
            mask = apply_change(mask);
            pthread_mutex_lock(&poller.lock);
            poller.seen = mask;
            continue;
        }
        poller.on_tick();
        deadline_after(&deadline, poller.interval_ms);
        while (!poller.stop
               && pthread_cond_timedwait(&poller.wake, &poller.lock,
                                         &deadline) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&poller.lock);
    return NULL;
}

static int
init_cond(void)
{
    pthread_condattr_t attr;
    int err;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    err = pthread_cond_init(&poller.wake, &attr);
    pthread_condattr_destroy(&attr);
    return err;
}

/* Another thread is in stop(), joining with the GIL released (two threads
 * forking at once, or one forking while another exits): wait until it is
 * done rather than join the same thread twice. */
static void
wait_for_joiner(void)
{
    struct timespec ms = {0, 1000000L};

    while (poller.joining) {
        Py_BEGIN_ALLOW_THREADS
        nanosleep(&ms, NULL);
        Py_END_ALLOW_THREADS
    }
}

int
pyusdt_poller_start(int interval_ms, unsigned int seen,
                    pyusdt_change_fn on_change, pyusdt_tick_fn on_tick,
                    pyusdt_due_fn due)
{
    sigset_t all, old;
    int err;

    wait_for_joiner();
    if (pyusdt_poller_running()) {
        return 0;
    }
    if (poller.running) {
        pyusdt_poller_forget();    /* made before a fork we were not told of */
    }
    if ((err = init_cond()) != 0) {
        errno = err;
        return -1;
    }
    poller.stop = 0;
    poller.tid = 0;
    poller.interval_ms = interval_ms;
    poller.seen = seen;
    poller.on_change = on_change;
    poller.on_tick = on_tick;
    poller.due = due;
    /* Block every signal in the thread: signals must reach the main
     * thread, or Ctrl-C would wait for its next bytecode. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&poller.thread, NULL, poll_loop, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        pthread_cond_destroy(&poller.wake);
        errno = err;
        return -1;
    }
    poller.running = 1;
    poller.pid = getpid();
    return 0;
}

/* pthread_join() returns once the thread has cleared its id, a little
 * before the kernel stops counting it among the process's threads, the
 * count os.fork() reads for its "multi-threaded" warning.  On a busy
 * machine a fork right after the join may still see two threads: wait
 * until the thread is gone for the kernel too (tgkill finds no such
 * thread), 100 ms at most. */
static void
wait_until_gone(pid_t tid)
{
    struct timespec pause = {0, 50000L};

    for (int i = 0; i < 2000 && tid > 0
         && syscall(SYS_tgkill, getpid(), tid, 0) == 0; i++) {
        nanosleep(&pause, NULL);
    }
}

void
pyusdt_poller_stop(void)
{
    wait_for_joiner();
    if (!poller.running) {
        return;
    }
    if (poller.pid != getpid()) {
        /* forked by C code, without the fork hooks: the thread stayed in
         * the parent, and joining its copy here would wait forever */
        pyusdt_poller_forget();
        return;
    }
    pthread_mutex_lock(&poller.lock);
    poller.stop = 1;
    pthread_cond_signal(&poller.wake);
    pthread_mutex_unlock(&poller.lock);
    poller.joining = 1;
    Py_BEGIN_ALLOW_THREADS
    pthread_join(poller.thread, NULL);
    wait_until_gone(poller.tid);
    Py_END_ALLOW_THREADS
    pthread_cond_destroy(&poller.wake);
    poller.running = 0;
    poller.joining = 0;
}

int
pyusdt_poller_running(void)
{
    return poller.running && poller.pid == getpid();
}

void
pyusdt_poller_forget(void)
{
    /* The child of a fork has only the forking thread.  After os.fork()
     * the lock was free (the thread was stopped before the fork); after a
     * fork(2) made by C code it may have been held by the thread, which
     * does not exist here: reinitialize it and mark the poller as gone.
     * The condition variable is left alone (destroying one that a thread
     * of the parent waited on may block); start() initializes it anew. */
    pthread_mutex_init(&poller.lock, NULL);
    poller.running = 0;
    poller.joining = 0;
}

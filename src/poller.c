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
#include <time.h>

#include "poller.h"
#include "pyusdt-probes.h"

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int running;            /* a thread exists (owned by the GIL holder) */
    int stop;               /* under lock */
    int interval_ms;
    unsigned int seen;      /* owned by the thread while it runs */
    pyusdt_change_fn on_change;
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

static void
apply_change(unsigned int mask)
{
    PyGILState_STATE g = PyGILState_Ensure();

    poller.on_change(mask);
    PyGILState_Release(g);
}

static void *
poll_loop(void *arg)
{
    struct timespec deadline;
    (void)arg;

    pthread_mutex_lock(&poller.lock);
    while (!poller.stop) {
        unsigned int mask = pyusdt_attached();
        if (mask != poller.seen) {
            poller.seen = mask;
            /* the GIL is taken without our lock held: stop() joins us
             * with the GIL released, never while holding the lock */
            pthread_mutex_unlock(&poller.lock);
            apply_change(mask);
            pthread_mutex_lock(&poller.lock);
            continue;
        }
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

int
pyusdt_poller_start(int interval_ms, unsigned int seen,
                    pyusdt_change_fn on_change)
{
    sigset_t all, old;
    int err;

    if (poller.running) {
        return 0;
    }
    if ((err = init_cond()) != 0) {
        errno = err;
        return -1;
    }
    poller.stop = 0;
    poller.interval_ms = interval_ms;
    poller.seen = seen;
    poller.on_change = on_change;
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
    return 0;
}

void
pyusdt_poller_stop(void)
{
    if (!poller.running) {
        return;
    }
    pthread_mutex_lock(&poller.lock);
    poller.stop = 1;
    pthread_cond_signal(&poller.wake);
    pthread_mutex_unlock(&poller.lock);
    Py_BEGIN_ALLOW_THREADS
    pthread_join(poller.thread, NULL);
    Py_END_ALLOW_THREADS
    pthread_cond_destroy(&poller.wake);
    poller.running = 0;
}

int
pyusdt_poller_running(void)
{
    return poller.running;
}

void
pyusdt_poller_forget(void)
{
    /* The child of a fork has only the forking thread; the lock was not
     * held (the thread was stopped before the fork), so reinitialize it
     * for safety and mark the poller as gone. */
    pthread_mutex_init(&poller.lock, NULL);
    poller.running = 0;
}

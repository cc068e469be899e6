/* poller.h - the thread that watches the probe semaphores. */
#ifndef PYUSDT_POLLER_H
#define PYUSDT_POLLER_H

/* Called with the GIL held when the attached set changes. */
typedef void (*pyusdt_change_fn)(unsigned int mask);

/* Called on every poll, without the GIL. */
typedef void (*pyusdt_tick_fn)(void);

/* Asked without the GIL on every poll with nothing attached: whether
 * on_change should be called all the same (work is due). */
typedef int (*pyusdt_due_fn)(void);

/* Start polling every interval_ms; `seen` is the mask already applied.
 * Returns 0, or -1 (errno set) if the thread could not be made.  Call with
 * the GIL held. */
int pyusdt_poller_start(int interval_ms, unsigned int seen,
                        pyusdt_change_fn on_change, pyusdt_tick_fn on_tick,
                        pyusdt_due_fn due);

/* Stop the thread and wait for it, releasing the GIL meanwhile (the thread
 * may be waiting for it).  Call with the GIL held.  Idempotent, and safe
 * when two threads call it at once (the second waits for the first).  In
 * the child of a fork that bypassed the fork hooks, forgets the thread. */
void pyusdt_poller_stop(void);

/* Whether a poller thread runs in this process. */
int pyusdt_poller_running(void);

/* After fork, in the child: the thread is gone; forget it. */
void pyusdt_poller_forget(void);

#endif /* PYUSDT_POLLER_H */

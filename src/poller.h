/* poller.h - the thread that watches the probe semaphores. */
#ifndef PYUSDT_POLLER_H
#define PYUSDT_POLLER_H

/* Called with the GIL held when the attached set changes. */
typedef void (*pyusdt_change_fn)(unsigned int mask);

/* Start polling every interval_ms; `seen` is the mask already applied.
 * Returns 0, or -1 (errno set) if the thread could not be made.  Call with
 * the GIL held. */
int pyusdt_poller_start(int interval_ms, unsigned int seen,
                        pyusdt_change_fn on_change);

/* Stop the thread and wait for it, releasing the GIL meanwhile (the thread
 * may be waiting for it).  Call with the GIL held.  Idempotent. */
void pyusdt_poller_stop(void);

int pyusdt_poller_running(void);

/* After fork, in the child: the thread is gone; forget it. */
void pyusdt_poller_forget(void);

#endif /* PYUSDT_POLLER_H */

/* restart.h - start the poller again in the parent of a fork, once
 * os.fork() has returned (see restart.c). */
#ifndef PYUSDT_RESTART_H
#define PYUSDT_RESTART_H

/* At import: look up what tells the main thread (no import at fork). */
void pyusdt_restart_init(void);

/* In the parent, after a fork: call start() now, or, when deferrable and
 * this is the main thread, from a pending call once os.fork() returned.
 * Nothing if a restart is pending already. */
void pyusdt_restart_in_parent(void (*start)(void), int deferrable);

/* In the child: forget a restart the parent had pending. */
void pyusdt_restart_forget(void);

#endif /* PYUSDT_RESTART_H */

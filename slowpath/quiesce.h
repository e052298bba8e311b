/*
 * Grace periods: run a function once every fast-path core has passed a
 * quiescent point (finished the loop iteration it was in, or is asleep),
 * so memory the cores may still be reading can be reused safely.
 */
#ifndef TAS_QUIESCE_H
#define TAS_QUIESCE_H

#include <stdbool.h>

struct service;

typedef void (*sp_deferred_fn)(struct service *svc, void *arg);

/* Queue fn(svc, arg) to run after a grace period; 0 or -ENOMEM. */
int sp_defer(struct service *svc, sp_deferred_fn fn, void *arg);
/* Run what is due; called by the slow-path loop.  Returns true if work
 * is still waiting (the loop then wakes again within a millisecond). */
bool sp_defer_run(struct service *svc);
/* Wait (spinning with short sleeps) until everything queued has run;
 * used at shutdown after the cores stopped. */
void sp_defer_drain(struct service *svc);

#endif /* TAS_QUIESCE_H */

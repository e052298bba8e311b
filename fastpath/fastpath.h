/*
 * What the rest of the service uses of the fast path.
 */
#ifndef TAS_FASTPATH_H
#define TAS_FASTPATH_H

#include <stdint.h>

#include "service.h"

struct rte_mbuf;

/* Create the rings and the doorbell of core (index, rx/tx queue and
 * service already set).  0 or -errno. */
int fp_core_init(struct fp_core *core);
void fp_core_free(struct fp_core *core);

/* lcore entry point, arg = struct fp_core *; returns when
 * service->stopping is set. */
int fp_core_main(void *arg);

/* Slow path -> core: enqueue and wake the core if it sleeps.
 * 0, or -ENOBUFS if the ring is full (the packet is freed). */
int fp_send_command(struct fp_core *core, const struct fp_command *cmd);
int fp_send_packet(struct fp_core *core, struct rte_mbuf *pkt);

/* Wake the core if it sleeps (after writing something it polls). */
void fp_kick(struct fp_core *core);

/* The core owning a flow with this key hash. */
static inline struct fp_core *fp_core_of_hash(struct service *svc, uint32_t hash)
{
	return &svc->cores[svc->group_to_core[hash % FLOW_GROUPS]];
}

/* Current time in microseconds (monotonic), the clock of TCP timestamps
 * and of the slow path's timers. */
uint64_t fp_now_us(void);

#endif /* TAS_FASTPATH_H */

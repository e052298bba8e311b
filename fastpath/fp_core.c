/*
 * A fast-path core: its rings and doorbell, and the run-to-completion loop
 * (modelled on DPDK's examples/l3fwd).  One iteration: receive a burst,
 * run the slow path's and the applications' commands, send from the queue
 * manager, flush the tx batch, wake whoever got work from us; then pass a
 * quiescent point, and back off towards sleeping if there was nothing to
 * do.
 */
#include "fp_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

/* Mbufs the rings can hold per core; the service sizes its pool for
 * 4096 (slowpath/port.c POOL_RING_MBUFS_PER_CORE). */
#define EXCEPTION_RING_SIZE 1024u
#define SP_TX_RING_SIZE 1024u
#define REDIRECT_RING_SIZE 2048u
#define COMMAND_RING_SIZE 4096u
/* A flow sends at most three notifications in its life (RX_FIN,
 * TX_FIN_ACKED, FLOW_REMOVED), so a ring of three per flow never
 * overflows; capped, because max_flows can be millions. */
#define NOTIFY_RING_MAX (1u << 18)
#define NOTIFY_RING_SPARE 1024u

static struct rte_ring *create_ring(const struct fp_core *core,
				    const char *what, unsigned elem_size,
				    unsigned count, unsigned flags)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "fp%u_%s", core->index, what);
	return rte_ring_create_elem(name, elem_size, count, SOCKET_ID_ANY,
				    flags);
}

static unsigned notify_ring_size(const struct service_config *cfg)
{
	uint64_t wanted = 3 * (uint64_t)cfg->max_flows + NOTIFY_RING_SPARE;

	return wanted >= NOTIFY_RING_MAX ? NOTIFY_RING_MAX
					 : rte_align32pow2((uint32_t)wanted);
}

int fp_core_init(struct fp_core *core)
{
	const struct service_config *cfg = &core->service->cfg;
	const unsigned one_to_one = RING_F_SP_ENQ | RING_F_SC_DEQ;

	core->exception_ring = create_ring(core, "exception", sizeof(void *),
					   EXCEPTION_RING_SIZE, one_to_one);
	core->notify_ring = create_ring(core, "notify", sizeof(struct sp_notify),
					notify_ring_size(cfg), one_to_one);
	/* The next three may get producers beyond the slow-path thread. */
	core->command_ring = create_ring(core, "command",
					 sizeof(struct fp_command),
					 COMMAND_RING_SIZE, RING_F_SC_DEQ);
	core->sp_tx_ring = create_ring(core, "sp_tx", sizeof(void *),
				       SP_TX_RING_SIZE, RING_F_SC_DEQ);
	core->redirect_ring = create_ring(core, "redirect", sizeof(void *),
					  REDIRECT_RING_SIZE, RING_F_SC_DEQ);
	if (core->exception_ring == NULL || core->notify_ring == NULL ||
	    core->command_ring == NULL || core->sp_tx_ring == NULL ||
	    core->redirect_ring == NULL) {
		int err = rte_errno;

		fp_core_free(core);
		return -err;
	}
	core->doorbell_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (core->doorbell_fd < 0) {
		int err = errno;

		fp_core_free(core);
		return -err;
	}
	core->contexts = NULL;
	core->quiescent = 0;
	core->sleeping = 0;
	return 0;
}

static void free_mbuf_ring(struct rte_ring **ring)
{
	struct rte_mbuf *m;

	if (*ring == NULL)
		return;
	while (rte_ring_dequeue(*ring, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(*ring);
	*ring = NULL;
}

void fp_core_free(struct fp_core *core)
{
	free_mbuf_ring(&core->exception_ring);
	free_mbuf_ring(&core->sp_tx_ring);
	free_mbuf_ring(&core->redirect_ring);
	rte_ring_free(core->notify_ring);
	rte_ring_free(core->command_ring);
	core->notify_ring = core->command_ring = NULL;
	if (core->doorbell_fd >= 0)
		close(core->doorbell_fd);
	core->doorbell_fd = -1;
}

uint64_t fp_now_us(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

void fp_doorbell(int fd)
{
	const uint64_t one = 1;

	/* EAGAIN (counter full) still leaves the fd readable; other errors
	 * mean the owner closed it and no longer needs waking. */
	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void fp_kick(struct fp_core *core)
{
	/* Our enqueue before their flag: doc/internals.md "Sleeping". */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&core->sleeping, __ATOMIC_RELAXED))
		fp_doorbell(core->doorbell_fd);
}

int fp_send_command(struct fp_core *core, const struct fp_command *cmd)
{
	struct fp_command copy = *cmd; /* DPDK wants a non-const pointer */

	if (rte_ring_enqueue_elem(core->command_ring, &copy, sizeof(copy)) != 0)
		return -ENOBUFS;
	fp_kick(core);
	return 0;
}

int fp_send_packet(struct fp_core *core, struct rte_mbuf *pkt)
{
	if (rte_ring_enqueue(core->sp_tx_ring, pkt) != 0) {
		rte_pktmbuf_free(pkt);
		return -ENOBUFS;
	}
	fp_kick(core);
	return 0;
}

void fp_redirect(struct fp_worker *w, struct fp_core *owner, struct rte_mbuf *m)
{
	if (rte_ring_enqueue(owner->redirect_ring, m) != 0) {
		w->core->rx_dropped++;
		rte_pktmbuf_free(m);
		return;
	}
	if (owner != w->core)
		w->cores_to_wake |= 1u << owner->index;
}

static void wake_others(struct fp_worker *w)
{
	struct service *svc = w->svc;

	if (w->cores_to_wake == 0 && !w->wake_slowpath)
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (uint32_t mask = w->cores_to_wake; mask != 0; mask &= mask - 1) {
		struct fp_core *core = &svc->cores[__builtin_ctz(mask)];

		if (__atomic_load_n(&core->sleeping, __ATOMIC_RELAXED))
			fp_doorbell(core->doorbell_fd);
	}
	if (w->wake_slowpath &&
	    __atomic_load_n(&svc->sp_sleeping, __ATOMIC_RELAXED))
		fp_doorbell(svc->sp_doorbell_fd);
	w->cores_to_wake = 0;
	w->wake_slowpath = false;
}

/* One pass over every input; returns how much work it found. */
static unsigned poll_once(struct fp_worker *w)
{
	unsigned work = 0;

	w->now_us = fp_now_us();
	fp_contexts_refresh(w);
	work += fp_rx_poll(w);
	work += fp_slowpath_poll(w);
	work += fp_app_poll(w);
	work += fp_tx_flows(w);
	fp_tx_flush(w);
	wake_others(w);
	return work;
}

/* Nothing read before this point is used after it (service.h); the full
 * barrier keeps the next iteration's loads after the increment. */
static void pass_quiescent_point(struct fp_core *core)
{
	__atomic_fetch_add(&core->quiescent, 2, __ATOMIC_SEQ_CST);
}

static int worker_init(struct fp_worker *w, struct fp_core *core)
{
	memset(w, 0, sizeof(*w));
	w->core = core;
	w->svc = core->service;
	w->txq_head = w->txq_tail = FLOW_INDEX_NONE;
	return fp_sleep_init(w);
}

int fp_core_main(void *arg)
{
	struct fp_core *core = arg;
	/* About 20 KB: the lcore's stack is the core's private memory. */
	struct fp_worker worker;

	if (worker_init(&worker, core) < 0) {
		RTE_LOG(ERR, USER1, "fast path %u: no epoll instance: %s\n",
			core->index, strerror(errno));
		return -1;
	}
	while (!worker.svc->stopping) {
		if (poll_once(&worker) > 0)
			fp_sleep_busy(&worker);
		else
			fp_sleep_idle(&worker);
		pass_quiescent_point(core);
	}
	fp_sleep_fini(&worker);
	/* Offline for good, so grace periods do not wait for this core. */
	__atomic_fetch_or(&core->quiescent, 1, __ATOMIC_SEQ_CST);
	return 0;
}

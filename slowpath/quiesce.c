/*
 * Grace periods (quiesce.h), in the style of quiescent-state-based RCU.
 *
 * Each fast-path core bumps fp_core.quiescent between loop iterations and
 * keeps bit 0 set while it is blocked.  A core that has bumped its counter
 * since a snapshot, is blocked, or is not running at all holds no pointer
 * it loaded before the snapshot.  So a deferred function becomes due once
 * that is true of every core.  Entries run in the order they were queued,
 * which is also the order in which they become due.
 */
#include "quiesce.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_launch.h>

#include "service.h"

#define DRAIN_POLL_US 100

struct deferred {
	struct deferred *next;
	sp_deferred_fn fn;
	void *arg;
	uint64_t snapshot[TAS_MAX_FP_CORES];
};

/* FIFO; the slow-path thread alone uses it. */
static struct deferred *queue_head;
static struct deferred **queue_tail = &queue_head;

static uint64_t quiescent_count(const struct fp_core *core)
{
	return __atomic_load_n(&core->quiescent, __ATOMIC_ACQUIRE);
}

static bool core_passed(const struct fp_core *core, uint64_t snapshot)
{
	uint64_t now = quiescent_count(core);

	return now != snapshot || (now & 1) != 0 ||
	       rte_eal_get_lcore_state(core->lcore_id) != RUNNING;
}

static bool is_due(const struct service *svc, const struct deferred *entry)
{
	for (unsigned i = 0; i < svc->cfg.fp_cores; i++)
		if (!core_passed(&svc->cores[i], entry->snapshot[i]))
			return false;
	return true;
}

int sp_defer(struct service *svc, sp_deferred_fn fn, void *arg)
{
	struct deferred *entry = malloc(sizeof(*entry));

	if (entry == NULL)
		return -ENOMEM;
	entry->next = NULL;
	entry->fn = fn;
	entry->arg = arg;
	/* The caller unpublished what fn will free before calling us; the
	 * fence orders that before the snapshot. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < svc->cfg.fp_cores; i++)
		entry->snapshot[i] = quiescent_count(&svc->cores[i]);
	*queue_tail = entry;
	queue_tail = &entry->next;
	return 0;
}

bool sp_defer_run(struct service *svc)
{
	/* fn may queue more entries; they are appended behind and checked in
	 * this same pass. */
	while (queue_head != NULL && is_due(svc, queue_head)) {
		struct deferred *entry = queue_head;

		queue_head = entry->next;
		if (queue_head == NULL)
			queue_tail = &queue_head;
		entry->fn(svc, entry->arg);
		free(entry);
	}
	return queue_head != NULL;
}

void sp_defer_drain(struct service *svc)
{
	while (sp_defer_run(svc))
		usleep(DRAIN_POLL_US);
}

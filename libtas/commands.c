/*
 * Commands from a context to the service: onto the command ring of a
 * fast-path core or of the slow path, then a doorbell kick if the reader
 * may be asleep (internals.md, "Sleeping and waking").
 *
 * A command that does not fit its ring waits in the context's queue for
 * that ring and goes out, in order, at the next libtas call on the
 * context: nothing is dropped and nothing spins.  A slow-path command
 * that must not overtake the data before it (CLOSE, SHUTDOWN of the
 * write side: the slow path then asks the core for a FIN) also waits
 * until the flow's core has taken every command queued for it before.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_ring.h>

#include "tas_internal.h"

#define INITIAL_QUEUE_CAPACITY 16u

static void kick_doorbell(int fd)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is saturated, the reader wakes anyway. */
	(void)!write(fd, &one, sizeof(one));
}

static void kick_core(struct tas_context *ctx, unsigned core)
{
	/* Pairs with the core's fence between setting fp_sleeping and
	 * re-checking the rings. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ctx->shm->fp_sleeping[core], __ATOMIC_RELAXED) != 0)
		kick_doorbell(registration.fp_doorbell_fd[core]);
}

/* Slow-path commands are rare: always wake it rather than track whether
 * it sleeps. */
static void kick_slowpath(void)
{
	kick_doorbell(registration.sp_doorbell_fd);
}

static bool try_enqueue(struct tas_context *ctx, unsigned ring,
			const struct tas_app_cmd *cmd)
{
	return rte_ring_sp_enqueue_burst_elem(ctx->cmd_ring[ring], cmd,
					      sizeof(*cmd), 1, NULL) == 1;
}

static bool core_drained(const struct tas_context *ctx, unsigned core)
{
	return ctx->pending[core].count == 0 &&
	       rte_ring_count(ctx->cmd_ring[core]) == 0;
}

static int queue_push(struct cmd_queue *queue, const struct tas_app_cmd *cmd,
		      int barrier_core)
{
	if (queue->count == queue->capacity) {
		uint32_t capacity = queue->capacity ? queue->capacity * 2
						    : INITIAL_QUEUE_CAPACITY;
		struct queued_cmd *cmds = malloc(capacity * sizeof(*cmds));

		if (cmds == NULL || capacity < queue->capacity) {
			free(cmds);
			return -ENOMEM;
		}
		for (uint32_t i = 0; i < queue->count; i++)
			cmds[i] = queue->cmds[(queue->head + i) &
					      (queue->capacity - 1)];
		free(queue->cmds);
		queue->cmds = cmds;
		queue->capacity = capacity;
		queue->head = 0;
	}
	uint32_t tail = (queue->head + queue->count) & (queue->capacity - 1);
	queue->cmds[tail] = (struct queued_cmd){ .cmd = *cmd,
						 .barrier_core = barrier_core };
	queue->count++;
	return 0;
}

/* Move queued commands of one ring onto it; true if any moved. */
static bool flush_ring(struct tas_context *ctx, unsigned ring)
{
	struct cmd_queue *queue = &ctx->pending[ring];
	bool moved = false;

	while (queue->count > 0) {
		const struct queued_cmd *next = &queue->cmds[queue->head];

		if (next->barrier_core >= 0 &&
		    !core_drained(ctx, (unsigned)next->barrier_core))
			break;
		if (!try_enqueue(ctx, ring, &next->cmd))
			break;
		queue->head = (queue->head + 1) & (queue->capacity - 1);
		queue->count--;
		moved = true;
	}
	return moved;
}

void commands_flush(struct tas_context *ctx)
{
	for (unsigned core = 0; core < registration.fp_cores; core++)
		if (ctx->pending[core].count > 0 && flush_ring(ctx, core))
			kick_core(ctx, core);
	/* After the cores' queues: barriers wait for those. */
	if (ctx->pending[TAS_RING_SLOWPATH].count > 0 &&
	    flush_ring(ctx, TAS_RING_SLOWPATH))
		kick_slowpath();
}

bool commands_pending(const struct tas_context *ctx)
{
	for (unsigned ring = 0; ring < TAS_RINGS_PER_DIRECTION; ring++)
		if (ctx->pending[ring].count > 0)
			return true;
	return false;
}

int command_to_core(struct tas_context *ctx, unsigned core,
		    const struct tas_app_cmd *cmd)
{
	if (ctx->pending[core].count > 0)
		flush_ring(ctx, core);
	if (ctx->pending[core].count == 0 && try_enqueue(ctx, core, cmd)) {
		kick_core(ctx, core);
		return 0;
	}
	return queue_push(&ctx->pending[core], cmd, -1);
}

int command_to_slowpath(struct tas_context *ctx, const struct tas_app_cmd *cmd,
			int barrier_core)
{
	struct cmd_queue *queue = &ctx->pending[TAS_RING_SLOWPATH];

	if (queue->count > 0)
		commands_flush(ctx);
	if (queue->count == 0 &&
	    (barrier_core < 0 || core_drained(ctx, (unsigned)barrier_core)) &&
	    try_enqueue(ctx, TAS_RING_SLOWPATH, cmd)) {
		kick_slowpath();
		return 0;
	}
	return queue_push(queue, cmd, barrier_core);
}

void commands_free(struct tas_context *ctx)
{
	for (unsigned ring = 0; ring < TAS_RINGS_PER_DIRECTION; ring++) {
		free(ctx->pending[ring].cmds);
		ctx->pending[ring] = (struct cmd_queue){ 0 };
	}
}

/*
 * Contexts: created by the service on request (NEW_CONTEXT; in a forked
 * child after joining the parent's application), their rings located in
 * the region and checked before use.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_ring.h>

#include "tas_internal.h"

/* An rte_ring the service laid out for this context: inside the ring
 * area, aligned, with the geometry the ABI fixes. */
static struct rte_ring *ring_at(uint64_t offset, uint32_t size,
				uint32_t elem_size)
{
	const struct tas_shm_header *header = registration.header;
	uint64_t bytes = sizeof(struct rte_ring) + (uint64_t)size * elem_size;

	if (offset < header->ring_area_offset ||
	    offset % RTE_CACHE_LINE_SIZE != 0 ||
	    header->ring_area_offset + header->ring_area_size - offset < bytes)
		return NULL;

	struct rte_ring *ring = (struct rte_ring *)(registration.region + offset);
	if (ring->size != size || ring->mask != size - 1)
		return NULL;
	return ring;
}

/* Point the context at its rings; -EPROTO if the service's description
 * is unusable. */
static int locate_rings(struct tas_context *ctx)
{
	const struct tas_shm_context *shm = ctx->shm;

	if (__atomic_load_n(&shm->in_use, __ATOMIC_ACQUIRE) == 0 ||
	    shm->ctx_id != ctx->id)
		return -EPROTO;
	for (unsigned ring = 0; ring < TAS_RINGS_PER_DIRECTION; ring++) {
		if (ring >= registration.fp_cores && ring != TAS_RING_SLOWPATH)
			continue;
		ctx->cmd_ring[ring] = ring_at(shm->cmd_ring_offset[ring],
					      TAS_CMD_RING_SIZE,
					      sizeof(struct tas_app_cmd));
		ctx->event_ring[ring] = ring_at(shm->event_ring_offset[ring],
						TAS_EVENT_RING_SIZE,
						sizeof(struct tas_app_event));
		if (ctx->cmd_ring[ring] == NULL || ctx->event_ring[ring] == NULL)
			return -EPROTO;
	}
	return 0;
}

struct tas_context *tas_context_create(void)
{
	uint16_t ctx_id;
	int eventfd;
	int err = registration_new_context(&ctx_id, &eventfd);

	if (err != 0) {
		errno = -err;
		return NULL;
	}

	struct tas_context *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		close(eventfd);
		errno = ENOMEM;
		return NULL;
	}
	ctx->id = ctx_id;
	ctx->eventfd = eventfd;
	ctx->next_cookie = 1;
	ctx->shm = (struct tas_shm_context *)(registration.region +
					      registration.header->ctx_table_offset) +
		   ctx_id;
	err = locate_rings(ctx);
	if (err != 0) {
		close(eventfd);
		free(ctx);
		errno = -err;
		return NULL;
	}

	pthread_mutex_lock(&registration.lock);
	ctx->next = registration.contexts;
	registration.contexts = ctx;
	pthread_mutex_unlock(&registration.lock);
	return ctx;
}

static void free_conns(struct conn_map *map)
{
	for (uint32_t i = 0; i < map->capacity; i++)
		free(map->slots[i].conn);
	conn_map_free(map);
}

/* With registration.lock held (tas_fini). */
void context_destroy(struct tas_context *ctx)
{
	if (ctx->armed)
		__atomic_store_n(&ctx->shm->app_sleeping, 0, __ATOMIC_RELAXED);
	listeners_free(ctx); /* with their pending accepts */
	free_conns(&ctx->flows);
	free_conns(&ctx->opening);
	events_free(ctx);
	commands_free(ctx);
	if (ctx->eventfd >= 0)
		close(ctx->eventfd);
	free(ctx);
}

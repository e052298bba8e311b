/*
 * Flow ids: a LIFO free list (a recently freed id's flow_state is likely
 * still in cache) and a flag per id that catches double frees.
 */
#include "flow_alloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct flow_alloc {
	struct flow_state *flows;
	uint32_t max_flows;
	uint32_t free_count;
	uint32_t *free_ids;       /* stack; top at free_count - 1 */
	bool *allocated;
};

struct flow_alloc *flow_alloc_create(struct flow_state *flows,
				     uint32_t max_flows)
{
	struct flow_alloc *alloc = calloc(1, sizeof(*alloc));
	if (alloc == NULL)
		return NULL;
	alloc->free_ids = calloc(max_flows, sizeof(*alloc->free_ids));
	alloc->allocated = calloc(max_flows, sizeof(*alloc->allocated));
	if (max_flows > 0 && (alloc->free_ids == NULL || alloc->allocated == NULL)) {
		flow_alloc_destroy(alloc);
		return NULL;
	}
	alloc->flows = flows;
	alloc->max_flows = max_flows;
	/* Pushed in reverse so that id 0 is handed out first. */
	for (uint32_t i = 0; i < max_flows; i++)
		alloc->free_ids[i] = max_flows - 1 - i;
	alloc->free_count = max_flows;
	return alloc;
}

void flow_alloc_destroy(struct flow_alloc *alloc)
{
	if (alloc == NULL)
		return;
	free(alloc->free_ids);
	free(alloc->allocated);
	free(alloc);
}

int64_t flow_alloc_get(struct flow_alloc *alloc)
{
	if (alloc->free_count == 0)
		return -ENOSPC;
	uint32_t id = alloc->free_ids[--alloc->free_count];
	struct flow_state *flow = &alloc->flows[id];
	uint32_t gen = flow->flow_gen + 1;

	if (gen == 0)
		gen = 1;
	memset(flow, 0, sizeof(*flow));
	flow->flow_gen = gen;
	alloc->allocated[id] = true;
	return id;
}

void flow_alloc_put(struct flow_alloc *alloc, uint32_t flow_id)
{
	if (flow_id >= alloc->max_flows || !alloc->allocated[flow_id])
		return;
	alloc->allocated[flow_id] = false;
	alloc->free_ids[alloc->free_count++] = flow_id;
}

uint32_t flow_alloc_in_use(const struct flow_alloc *alloc)
{
	return alloc->max_flows - alloc->free_count;
}

/*
 * Flow ids: indices into service.flows[0 .. max_flows-1], handed out by the
 * slow path alone.  Every allocation bumps the slot's flow_gen, so commands
 * and events naming an earlier use of the same id are recognisably stale.
 */
#ifndef TAS_FLOW_ALLOC_H
#define TAS_FLOW_ALLOC_H

#include <stdint.h>

#include "flow_state.h"

struct flow_alloc;

/* Allocator over flows[max_flows]; every id starts free.  NULL on ENOMEM. */
struct flow_alloc *flow_alloc_create(struct flow_state *flows,
				     uint32_t max_flows);
void flow_alloc_destroy(struct flow_alloc *alloc);

/*
 * A free id, or -ENOSPC.  flows[id] is cleared and its flow_gen is one more
 * than before (never 0).  The caller must have let every fast-path core
 * forget the previous use (grace period) before freeing the id.
 */
int64_t flow_alloc_get(struct flow_alloc *alloc);

/* Return an id; freeing an id that is not allocated is ignored. */
void flow_alloc_put(struct flow_alloc *alloc, uint32_t flow_id);

uint32_t flow_alloc_in_use(const struct flow_alloc *alloc);

#endif /* TAS_FLOW_ALLOC_H */

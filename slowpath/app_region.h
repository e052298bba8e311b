/*
 * One application's shared region: the sealed memfd and the service's
 * mapping of it, the layout published in its tas_shm_header, the rings of
 * its contexts and the allocator of its per-flow buffer slots.
 *
 * Layout (offsets page aligned):
 *   0                  struct tas_shm_header
 *   ctx_table_offset   struct tas_shm_context[TAS_MAX_CONTEXTS]
 *   ring_area_offset   TAS_MAX_CONTEXTS ring sets; a set holds, for each
 *                      fast-path core and then the slow path, a command
 *                      ring followed by an event ring.  Space is laid out
 *                      for every context, rings are created on demand;
 *                      the memfd is sparse, so unused sets cost nothing.
 *   buf_area_offset    slots of rx_buf_size + tx_buf_size (page aligned),
 *                      the receive buffer first
 */
#ifndef TAS_APP_REGION_H
#define TAS_APP_REGION_H

#include <stdbool.h>
#include <stdint.h>

#include "service.h"

struct app_region_layout {
	unsigned fp_cores;
	uint64_t ctx_table_offset;
	uint64_t ring_area_offset;
	uint64_t ring_area_size;
	uint64_t ring_set_size;   /* one context's rings */
	uint64_t buf_area_offset;
	uint64_t buf_area_size;
	uint64_t slot_size;
	uint32_t slot_count;
};

struct app_region {
	uint8_t *base;
	uint64_t size;
	int memfd;
	bool hugepages;
	struct app_region_layout layout;
	uint32_t rx_buf_size;
	uint32_t tx_buf_size;
	uint32_t slots_used;
	uint32_t free_count;
	uint32_t *free_slots;     /* stack of free slot indices */
	bool *slot_busy;          /* per slot, to validate frees */
};

/* Fast-path cores that serve applications: cfg.fp_cores, at most what
 * the shm ABI can describe. */
unsigned app_region_fp_cores(const struct service_config *cfg);

/* Check that cfg describes a usable region (logs why not).  0 or -EINVAL. */
int app_region_check_config(const struct service_config *cfg);

/* Create, map and lay out the region of application app_id.  0 or -errno. */
int app_region_create(struct app_region *region,
		      const struct service_config *cfg, uint16_t app_id);
void app_region_destroy(struct app_region *region);

struct tas_shm_context *app_region_context(struct app_region *region,
					   uint16_t ctx_id);

/* Create the rings of context ctx_id (one pair per fast-path core and one
 * for the slow path), fill in the service's views cmd[i]/event[i] at the
 * ring indices of the shm ABI and the context's table entry, and mark the
 * entry in use.  0 or -errno. */
int app_region_context_setup(struct app_region *region, uint16_t ctx_id,
			     struct shm_ring cmd[TAS_RINGS_PER_DIRECTION],
			     struct shm_ring event[TAS_RINGS_PER_DIRECTION]);

/* Buffer slots.  alloc: 0 or -ENOMEM.  free: 0, or -EINVAL if rx_offset
 * is not the receive buffer of an allocated slot. */
int app_region_slot_alloc(struct app_region *region, uint64_t *rx_offset,
			  uint64_t *tx_offset);
int app_region_slot_free(struct app_region *region, uint64_t rx_offset);

#endif /* TAS_APP_REGION_H */

/*
 * The service's side of the rte_rings in application regions.
 *
 * Applications drive these rings with DPDK's own inline rte_ring functions
 * (single producer, single consumer).  The service must not trust anything
 * an application can write, and the ring header (size, mask, head and tail
 * indices) lies in the application's region.  So the service keeps the
 * ring's geometry and its own index privately in struct shm_ring, reads
 * only the application's index from shared memory, checks it against the
 * geometry before use, and writes its index back in the rte_ring layout so
 * that the application's rte_ring calls see it.
 */
#ifndef TAS_APP_RING_H
#define TAS_APP_RING_H

#include <stdbool.h>
#include <stdint.h>

struct shm_ring {
	uint8_t *base;          /* the struct rte_ring in the app region */
	uint32_t size;          /* entries, power of two */
	uint32_t mask;          /* size - 1 */
	uint32_t capacity;      /* usable entries: size - 1 */
	uint32_t elem_size;     /* bytes, multiple of 4 */
	uint32_t local_idx;     /* service's head: cons (commands) or prod
				 * (events), private, authoritative */
	bool corrupt;           /* the app broke the ring protocol */
};

/* Bytes a ring of size entries of elem_size bytes occupies. */
uint64_t shm_ring_memsize(uint32_t size, uint32_t elem_size);

/*
 * Create an empty rte_ring of size entries at mem (shm_ring_memsize bytes,
 * cache-line aligned) in SP/SC mode and fill in the service's view.  Uses
 * rte_ring_init(), which needs no EAL initialisation.  0 or -EINVAL (size
 * not a power of two >= 2, elem_size not a multiple of 4, mem misaligned)
 * or rte_ring_init's error (-ENAMETOOLONG).
 */
int shm_ring_create(struct shm_ring *ring, void *mem, const char *name,
		    uint32_t size, uint32_t elem_size);

/*
 * Consumer side (application -> service rings).  Copies up to n elements
 * into objs and returns how many.  If the application's producer index is
 * impossible (more entries than the capacity), marks the ring corrupt,
 * consumes nothing and returns 0 from then on.
 */
unsigned shm_ring_dequeue_burst(struct shm_ring *ring, void *objs, unsigned n);

/*
 * Producer side (service -> application rings).  Copies up to n elements
 * from objs and returns how many fitted.  An impossible consumer index
 * marks the ring corrupt (returns 0).
 */
unsigned shm_ring_enqueue_burst(struct shm_ring *ring, const void *objs,
				unsigned n);

#endif /* TAS_APP_RING_H */

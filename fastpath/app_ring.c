/*
 * The service's side of the SP/SC rte_rings in application regions.
 *
 * The layout and the index protocol are DPDK's (lib/ring): the elements
 * follow the struct rte_ring header, indices run freely modulo 2^32 and
 * are masked on access; a producer publishes elements with a release
 * store of prod.tail, a consumer frees slots with a release store of
 * cons.tail.  Geometry and the service's own index come from struct
 * shm_ring, never from the shared header, so an application can corrupt
 * only its own rings' contents.
 */
#include "app_ring.h"

#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ring.h>

uint64_t shm_ring_memsize(uint32_t size, uint32_t elem_size)
{
	ssize_t bytes = rte_ring_get_memsize_elem(elem_size, size);

	return bytes < 0 ? 0 : (uint64_t)bytes;
}

int shm_ring_create(struct shm_ring *ring, void *mem, const char *name,
		    uint32_t size, uint32_t elem_size)
{
	if (size < 2 || !rte_is_power_of_2(size) || size > RTE_RING_SZ_MASK ||
	    elem_size == 0 || elem_size % 4 != 0 ||
	    ((uintptr_t)mem & (RTE_CACHE_LINE_SIZE - 1)) != 0)
		return -EINVAL;

	int ret = rte_ring_init(mem, name, size, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (ret != 0)
		return ret;

	*ring = (struct shm_ring){
		.base = mem,
		.size = size,
		.mask = size - 1,
		.capacity = size - 1,
		.elem_size = elem_size,
	};
	return 0;
}

static inline struct rte_ring *shared_header(const struct shm_ring *ring)
{
	return (struct rte_ring *)ring->base;
}

static inline uint8_t *elements(const struct shm_ring *ring)
{
	return ring->base + sizeof(struct rte_ring);
}

/* Elements from the index onwards before the end of the array. */
static inline uint32_t elements_to_end(const struct shm_ring *ring,
				       uint32_t index, uint32_t n)
{
	uint32_t to_end = ring->size - (index & ring->mask);

	return n < to_end ? n : to_end;
}

static void copy_out(const struct shm_ring *ring, uint32_t index, void *objs,
		     uint32_t n)
{
	uint32_t first = elements_to_end(ring, index, n);
	size_t first_bytes = (size_t)first * ring->elem_size;

	memcpy(objs, elements(ring) + (size_t)(index & ring->mask) * ring->elem_size,
	       first_bytes);
	memcpy((uint8_t *)objs + first_bytes, elements(ring),
	       (size_t)(n - first) * ring->elem_size);
}

static void copy_in(const struct shm_ring *ring, uint32_t index,
		    const void *objs, uint32_t n)
{
	uint32_t first = elements_to_end(ring, index, n);
	size_t first_bytes = (size_t)first * ring->elem_size;

	memcpy(elements(ring) + (size_t)(index & ring->mask) * ring->elem_size,
	       objs, first_bytes);
	memcpy(elements(ring), (const uint8_t *)objs + first_bytes,
	       (size_t)(n - first) * ring->elem_size);
}

unsigned shm_ring_dequeue_burst(struct shm_ring *ring, void *objs, unsigned n)
{
	if (ring->corrupt)
		return 0;

	struct rte_ring *shared = shared_header(ring);
	uint32_t prod_tail = __atomic_load_n(&shared->prod.tail, __ATOMIC_ACQUIRE);
	uint32_t entries = prod_tail - ring->local_idx;
	if (entries > ring->capacity) {
		ring->corrupt = true;
		return 0;
	}
	if (n > entries)
		n = entries;
	if (n == 0)
		return 0;

	copy_out(ring, ring->local_idx, objs, n);
	ring->local_idx += n;
	/* The release orders our reads of the elements before the
	 * application may overwrite them. */
	__atomic_store_n(&shared->cons.head, ring->local_idx, __ATOMIC_RELEASE);
	__atomic_store_n(&shared->cons.tail, ring->local_idx, __ATOMIC_RELEASE);
	return n;
}

unsigned shm_ring_enqueue_burst(struct shm_ring *ring, const void *objs,
				unsigned n)
{
	if (ring->corrupt)
		return 0;

	struct rte_ring *shared = shared_header(ring);
	uint32_t cons_tail = __atomic_load_n(&shared->cons.tail, __ATOMIC_ACQUIRE);
	uint32_t used = ring->local_idx - cons_tail;
	if (used > ring->capacity) {
		ring->corrupt = true;
		return 0;
	}
	uint32_t free_entries = ring->capacity - used;
	if (n > free_entries)
		n = free_entries;
	if (n == 0)
		return 0;

	copy_in(ring, ring->local_idx, objs, n);
	ring->local_idx += n;
	/* The release publishes the elements before the new tail. */
	__atomic_store_n(&shared->prod.head, ring->local_idx, __ATOMIC_RELEASE);
	__atomic_store_n(&shared->prod.tail, ring->local_idx, __ATOMIC_RELEASE);
	return n;
}

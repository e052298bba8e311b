#include "impair_queue.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int impair_pool_init(struct impair_pool *pool, uint32_t slot_count,
		     uint32_t slot_size)
{
	size_t bytes = (size_t)slot_count * slot_size;

	memset(pool, 0, sizeof(*pool));
	/* Anonymous memory is only backed once touched: a pool sized for
	 * the worst backlog costs what the actual backlog uses. */
	pool->memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pool->memory == MAP_FAILED) {
		pool->memory = NULL;
		return -1;
	}
	pool->lengths = calloc(slot_count, sizeof(pool->lengths[0]));
	pool->free_slots = malloc((size_t)slot_count * sizeof(pool->free_slots[0]));
	if (!pool->lengths || !pool->free_slots) {
		impair_pool_destroy(pool);
		errno = ENOMEM;
		return -1;
	}
	pool->slot_size = slot_size;
	pool->slot_count = slot_count;
	/* Slot 0 on top: the first frames use the start of the memory. */
	for (uint32_t i = 0; i < slot_count; i++)
		pool->free_slots[i] = slot_count - 1 - i;
	pool->free_count = slot_count;
	return 0;
}

void impair_pool_destroy(struct impair_pool *pool)
{
	if (pool->memory)
		munmap(pool->memory, (size_t)pool->slot_count * pool->slot_size);
	free(pool->lengths);
	free(pool->free_slots);
	memset(pool, 0, sizeof(*pool));
}

bool impair_pool_get(struct impair_pool *pool, uint32_t *slot)
{
	if (pool->free_count == 0)
		return false;
	*slot = pool->free_slots[--pool->free_count];
	return true;
}

void impair_pool_put(struct impair_pool *pool, uint32_t slot)
{
	assert(pool->free_count < pool->slot_count);
	pool->free_slots[pool->free_count++] = slot;
}

int impair_fifo_init(struct impair_fifo *fifo, uint32_t capacity)
{
	uint32_t size = 1;

	while (size < capacity)
		size <<= 1;
	memset(fifo, 0, sizeof(*fifo));
	fifo->entries = calloc(size, sizeof(fifo->entries[0]));
	if (!fifo->entries)
		return -1;
	fifo->mask = size - 1;
	return 0;
}

void impair_fifo_destroy(struct impair_fifo *fifo)
{
	free(fifo->entries);
	memset(fifo, 0, sizeof(*fifo));
}

void impair_fifo_push(struct impair_fifo *fifo, uint32_t slot,
		      uint64_t release_ns)
{
	assert(fifo->count <= fifo->mask);
	assert(fifo->count == 0 ||
	       impair_fifo_peek(fifo, fifo->count - 1)->release_ns <= release_ns);
	fifo->entries[(fifo->head + fifo->count) & fifo->mask] =
		(struct impair_release){ .slot = slot, .release_ns = release_ns };
	fifo->count++;
}

void impair_fifo_pop(struct impair_fifo *fifo)
{
	assert(fifo->count > 0);
	fifo->head = (fifo->head + 1) & fifo->mask;
	fifo->count--;
}

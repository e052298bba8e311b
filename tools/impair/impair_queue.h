/*
 * Where the impairment stage keeps frames between arrival and release:
 * a pool of fixed-size frame buffers, and per direction a queue of
 * buffers in release order.  The rules never give a release time earlier
 * than one before it (held frames come back with a time no earlier than
 * the latest), so a FIFO is time-ordered and costs O(1) per frame.
 */
#ifndef TAS_IMPAIR_QUEUE_H
#define TAS_IMPAIR_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

struct impair_pool {
	uint8_t *memory;         /* slot_count * slot_size bytes */
	uint32_t slot_size;
	uint32_t slot_count;
	uint32_t *lengths;       /* frame length held in each slot */
	uint32_t *free_slots;    /* a stack: the slot used last is reused first */
	uint32_t free_count;
};

/* 0, or -1 with errno set. */
int impair_pool_init(struct impair_pool *pool, uint32_t slot_count,
		     uint32_t slot_size);
void impair_pool_destroy(struct impair_pool *pool);

/* A free slot, or false if all are in use. */
bool impair_pool_get(struct impair_pool *pool, uint32_t *slot);
void impair_pool_put(struct impair_pool *pool, uint32_t slot);

static inline uint8_t *impair_pool_frame(const struct impair_pool *pool,
					 uint32_t slot)
{
	return pool->memory + (uint64_t)slot * pool->slot_size;
}

struct impair_release {
	uint32_t slot;
	uint64_t release_ns;
};

struct impair_fifo {
	struct impair_release *entries;
	uint32_t mask;           /* capacity - 1, capacity a power of two */
	uint32_t head;
	uint32_t count;
};

/* Room for at least capacity entries; 0, or -1 with errno set. */
int impair_fifo_init(struct impair_fifo *fifo, uint32_t capacity);
void impair_fifo_destroy(struct impair_fifo *fifo);

/* Append; the caller makes sure there is room (one entry per pool slot)
 * and that release_ns is no earlier than the last entry's. */
void impair_fifo_push(struct impair_fifo *fifo, uint32_t slot,
		      uint64_t release_ns);

/* Entry i from the head (i < count). */
static inline const struct impair_release *
impair_fifo_peek(const struct impair_fifo *fifo, uint32_t i)
{
	return &fifo->entries[(fifo->head + i) & fifo->mask];
}

void impair_fifo_pop(struct impair_fifo *fifo);

#endif /* TAS_IMPAIR_QUEUE_H */

/*
 * The flow table: open addressing with linear probing over 16-byte slots,
 * one writer (slow path), lock-free readers (fast-path cores).
 *
 * A slot is {key, id_state}.  id_state says what the slot holds:
 *   SLOT_EMPTY      never used since it was last known unreachable: ends a probe
 *   SLOT_TOMBSTONE  removed; readers may still be comparing its key, so the
 *                   writer leaves it alone until the grace period is over
 *   SLOT_RELEASED   removed and past the grace period: readers probe past,
 *                   the writer may reuse it
 *   anything else   flow_id + 1
 * The writer only ever writes the key of a slot that is empty or released,
 * and publishes it with a release store of id_state; readers acquire-load
 * id_state and read the key only when it names a flow.
 *
 * Invariant: every slot between a live key's home slot and the slot that
 * holds it is non-empty.  Insertion keeps it by taking the first reusable
 * slot on the probe path; releasing a slot that is followed by an empty
 * one turns it (and released slots before it) back to empty, which keeps
 * it too and stops misses from scanning ever longer runs of dead slots.
 */
#include "flow_table.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_prefetch.h>

#define SLOT_EMPTY 0u
#define SLOT_TOMBSTONE UINT32_MAX
#define SLOT_RELEASED (UINT32_MAX - 1)
/* Keeps flow_id + 1 clear of the markers and the capacity within 2^31. */
#define FLOW_TABLE_MAX_FLOWS (1u << 30)

struct flow_slot {
	struct flow_key key;
	uint32_t id_state;
};

static_assert(sizeof(struct flow_key) == 12, "flow_key has no padding");
static_assert(sizeof(struct flow_slot) == 16, "four slots per cache line");

struct flow_table {
	struct flow_slot *slots;
	uint32_t mask;            /* capacity - 1 */
	uint32_t max_flows;
	uint32_t live_flows;      /* writer only */
};

static inline bool names_flow(uint32_t id_state)
{
	return id_state != SLOT_EMPTY && id_state != SLOT_TOMBSTONE &&
	       id_state != SLOT_RELEASED;
}

static inline bool is_reusable(uint32_t id_state)
{
	return id_state == SLOT_EMPTY || id_state == SLOT_RELEASED;
}

static inline bool key_equal(const struct flow_key *a, const struct flow_key *b)
{
	return a->local_ip == b->local_ip && a->remote_ip == b->remote_ip &&
	       a->local_port == b->local_port && a->remote_port == b->remote_port;
}

static inline uint32_t load_state(const struct flow_slot *slot)
{
	return __atomic_load_n(&slot->id_state, __ATOMIC_ACQUIRE);
}

static inline void publish_state(struct flow_slot *slot, uint32_t id_state)
{
	__atomic_store_n(&slot->id_state, id_state, __ATOMIC_RELEASE);
}

/* The murmur3 64-bit finaliser over both words: every key bit affects
 * every hash bit, so the low bits used for slots and groups are uniform. */
uint32_t flow_key_hash(const struct flow_key *key)
{
	uint64_t addresses = (uint64_t)key->local_ip << 32 | key->remote_ip;
	uint64_t ports = (uint64_t)key->local_port << 16 | key->remote_port;
	uint64_t h = addresses ^ (ports * 0x9e3779b97f4a7c15ull);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

struct flow_table *flow_table_create(uint32_t max_flows)
{
	if (max_flows == 0 || max_flows > FLOW_TABLE_MAX_FLOWS)
		return NULL;
	uint64_t capacity = rte_align64pow2(2 * (uint64_t)max_flows);
	struct flow_table *table = calloc(1, sizeof(*table));
	if (table == NULL)
		return NULL;
	size_t bytes = capacity * sizeof(struct flow_slot);
	table->slots = aligned_alloc(RTE_CACHE_LINE_SIZE,
				     RTE_ALIGN_CEIL(bytes, RTE_CACHE_LINE_SIZE));
	if (table->slots == NULL) {
		free(table);
		return NULL;
	}
	memset(table->slots, 0, bytes);
	table->mask = (uint32_t)(capacity - 1);
	table->max_flows = max_flows;
	return table;
}

void flow_table_destroy(struct flow_table *table)
{
	if (table == NULL)
		return;
	free(table->slots);
	free(table);
}

int flow_table_insert(struct flow_table *table, const struct flow_key *key,
		      uint32_t flow_id)
{
	if (flow_id >= table->max_flows)
		return -EINVAL;

	uint32_t index = flow_key_hash(key) & table->mask;
	struct flow_slot *target = NULL;
	/* Look on to the end of the probe run: the key may sit past a
	 * reusable slot. */
	for (uint32_t probes = 0; probes <= table->mask; probes++) {
		struct flow_slot *slot = &table->slots[index];
		uint32_t state = slot->id_state;
		if (names_flow(state) && key_equal(&slot->key, key))
			return -EEXIST;
		if (is_reusable(state) && target == NULL)
			target = slot;
		if (state == SLOT_EMPTY)
			break;
		index = (index + 1) & table->mask;
	}
	if (target == NULL || table->live_flows >= table->max_flows)
		return -ENOSPC;

	target->key = *key;
	publish_state(target, flow_id + 1);
	table->live_flows++;
	return 0;
}

int flow_table_remove(struct flow_table *table, const struct flow_key *key)
{
	uint32_t index = flow_key_hash(key) & table->mask;

	for (uint32_t probes = 0; probes <= table->mask; probes++) {
		struct flow_slot *slot = &table->slots[index];
		uint32_t state = slot->id_state;
		if (state == SLOT_EMPTY)
			break;
		if (names_flow(state) && key_equal(&slot->key, key)) {
			publish_state(slot, SLOT_TOMBSTONE);
			table->live_flows--;
			return (int)index;
		}
		index = (index + 1) & table->mask;
	}
	return -ENOENT;
}

void flow_table_release_slot(struct flow_table *table, uint32_t slot_index)
{
	if (slot_index > table->mask ||
	    table->slots[slot_index].id_state != SLOT_TOMBSTONE)
		return;

	uint32_t next = (slot_index + 1) & table->mask;
	if (table->slots[next].id_state != SLOT_EMPTY) {
		publish_state(&table->slots[slot_index], SLOT_RELEASED);
		return;
	}
	/* Nothing lies beyond: this slot and the released run before it are
	 * on no live key's probe path (see the invariant above). */
	uint32_t index = slot_index;
	for (uint32_t probes = 0; probes <= table->mask; probes++) {
		publish_state(&table->slots[index], SLOT_EMPTY);
		index = (index - 1) & table->mask;
		if (table->slots[index].id_state != SLOT_RELEASED)
			break;
	}
}

int64_t flow_table_lookup(const struct flow_table *table,
			  const struct flow_key *key, uint32_t hash)
{
	uint32_t index = hash & table->mask;

	for (uint32_t probes = 0; probes <= table->mask; probes++) {
		const struct flow_slot *slot = &table->slots[index];
		uint32_t state = load_state(slot);
		if (state == SLOT_EMPTY)
			return -1;
		if (names_flow(state) && key_equal(&slot->key, key))
			return (int64_t)state - 1;
		index = (index + 1) & table->mask;
	}
	return -1;
}

void flow_table_prefetch(const struct flow_table *table, uint32_t hash)
{
	rte_prefetch0(&table->slots[hash & table->mask]);
}

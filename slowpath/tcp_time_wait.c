/*
 * TIME-WAIT table (RFC 9293 section 3.6): a flow_table used privately by
 * the slow path for lookup, and a list ordered by expiry (every entry lasts
 * the same 2*MSL, so appending at restart keeps it ordered).
 */
#include "tcp_time_wait.h"

#include <errno.h>
#include <stdlib.h>

#define NO_ENTRY UINT32_MAX

static struct {
	struct time_wait *entries;
	uint32_t capacity;
	uint32_t *free_stack;
	uint32_t free_count;
	struct flow_table *lookup;
	uint32_t oldest;
	uint32_t newest;
} tw = { .oldest = NO_ENTRY, .newest = NO_ENTRY };

int time_wait_init(uint32_t capacity)
{
	if (capacity == 0)
		return -EINVAL;
	tw.entries = calloc(capacity, sizeof(*tw.entries));
	tw.free_stack = calloc(capacity, sizeof(*tw.free_stack));
	tw.lookup = flow_table_create(capacity);
	if (tw.entries == NULL || tw.free_stack == NULL || tw.lookup == NULL) {
		time_wait_fini();
		return -ENOMEM;
	}
	tw.capacity = capacity;
	for (uint32_t i = 0; i < capacity; i++)
		tw.free_stack[i] = capacity - 1 - i;
	tw.free_count = capacity;
	tw.oldest = tw.newest = NO_ENTRY;
	return 0;
}

void time_wait_fini(void)
{
	free(tw.entries);
	free(tw.free_stack);
	flow_table_destroy(tw.lookup);
	tw.entries = NULL;
	tw.free_stack = NULL;
	tw.lookup = NULL;
	tw.capacity = tw.free_count = 0;
	tw.oldest = tw.newest = NO_ENTRY;
}

static uint32_t index_of(const struct time_wait *entry)
{
	return (uint32_t)(entry - tw.entries);
}

static void unlink_entry(struct time_wait *entry)
{
	if (entry->older != NO_ENTRY)
		tw.entries[entry->older].newer = entry->newer;
	else
		tw.oldest = entry->newer;
	if (entry->newer != NO_ENTRY)
		tw.entries[entry->newer].older = entry->older;
	else
		tw.newest = entry->older;
}

static void append_entry(struct time_wait *entry)
{
	uint32_t index = index_of(entry);

	entry->older = tw.newest;
	entry->newer = NO_ENTRY;
	if (tw.newest != NO_ENTRY)
		tw.entries[tw.newest].newer = index;
	else
		tw.oldest = index;
	tw.newest = index;
}

void time_wait_remove(struct time_wait *entry)
{
	int slot = flow_table_remove(tw.lookup, &entry->key);

	/* Only this thread reads the table: no grace period needed. */
	if (slot >= 0)
		flow_table_release_slot(tw.lookup, (uint32_t)slot);
	unlink_entry(entry);
	entry->in_use = false;
	tw.free_stack[tw.free_count++] = index_of(entry);
}

void time_wait_add(const struct time_wait *entry, uint64_t now_us)
{
	if (tw.capacity == 0)
		return;
	struct time_wait *existing =
		time_wait_lookup(&entry->key, flow_key_hash(&entry->key));
	if (existing != NULL)
		time_wait_remove(existing);
	if (tw.free_count == 0)
		time_wait_remove(&tw.entries[tw.oldest]);

	uint32_t index = tw.free_stack[--tw.free_count];
	struct time_wait *slot = &tw.entries[index];
	*slot = *entry;
	slot->expires_us = now_us + TCP_TIME_WAIT_US;
	slot->in_use = true;
	append_entry(slot);
	if (flow_table_insert(tw.lookup, &slot->key, index) != 0) {
		unlink_entry(slot);
		slot->in_use = false;
		tw.free_stack[tw.free_count++] = index;
	}
}

struct time_wait *time_wait_lookup(const struct flow_key *key, uint32_t hash)
{
	if (tw.capacity == 0)
		return NULL;
	int64_t index = flow_table_lookup(tw.lookup, key, hash);
	return index < 0 ? NULL : &tw.entries[index];
}

void time_wait_restart(struct time_wait *entry, uint64_t now_us)
{
	entry->expires_us = now_us + TCP_TIME_WAIT_US;
	unlink_entry(entry);
	append_entry(entry);
}

uint64_t time_wait_expire(uint64_t now_us)
{
	while (tw.oldest != NO_ENTRY) {
		struct time_wait *entry = &tw.entries[tw.oldest];
		if (entry->expires_us > now_us)
			return entry->expires_us;
		time_wait_remove(entry);
	}
	return UINT64_MAX;
}

uint32_t time_wait_count(void)
{
	return tw.capacity - tw.free_count;
}

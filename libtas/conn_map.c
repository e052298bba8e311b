/*
 * Connection maps (conn_map.h).
 */
#include "conn_map.h"

#include <errno.h>
#include <stdlib.h>

#define INITIAL_CAPACITY 64u

static uint32_t home_slot(const struct conn_map *map, uint64_t key)
{
	/* Fibonacci hashing: flow ids and cookies are sequential. */
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) &
	       (map->capacity - 1);
}

static uint32_t next_slot(const struct conn_map *map, uint32_t slot)
{
	return (slot + 1) & (map->capacity - 1);
}

/* The slot holding key, or the empty slot where it would go. */
static uint32_t probe(const struct conn_map *map, uint64_t key)
{
	uint32_t slot = home_slot(map, key);

	while (map->slots[slot].conn != NULL && map->slots[slot].key != key)
		slot = next_slot(map, slot);
	return slot;
}

static int grow(struct conn_map *map)
{
	uint32_t old_capacity = map->capacity;
	struct conn_map_slot *old_slots = map->slots;
	uint32_t capacity = old_capacity ? old_capacity * 2 : INITIAL_CAPACITY;
	struct conn_map_slot *slots = calloc(capacity, sizeof(*slots));

	if (slots == NULL || capacity < old_capacity) {
		free(slots);
		return -ENOMEM;
	}
	map->slots = slots;
	map->capacity = capacity;
	for (uint32_t i = 0; i < old_capacity; i++)
		if (old_slots[i].conn != NULL)
			map->slots[probe(map, old_slots[i].key)] = old_slots[i];
	free(old_slots);
	return 0;
}

int conn_map_insert(struct conn_map *map, uint64_t key, struct tas_conn *conn)
{
	if ((map->count + 1) * 2 > map->capacity) {
		int err = grow(map);
		if (err != 0)
			return err;
	}

	uint32_t slot = probe(map, key);
	if (map->slots[slot].conn != NULL)
		return -EEXIST;
	map->slots[slot] = (struct conn_map_slot){ .key = key, .conn = conn };
	map->count++;
	return 0;
}

struct tas_conn *conn_map_find(const struct conn_map *map, uint64_t key)
{
	if (map->count == 0)
		return NULL;
	return map->slots[probe(map, key)].conn;
}

struct tas_conn *conn_map_remove(struct conn_map *map, uint64_t key)
{
	if (map->count == 0)
		return NULL;

	uint32_t hole = probe(map, key);
	struct tas_conn *conn = map->slots[hole].conn;
	if (conn == NULL)
		return NULL;

	/* Backward shift: move later entries of the probe run into the hole
	 * when the hole lies between their home slot and where they are. */
	uint32_t mask = map->capacity - 1;
	for (uint32_t slot = next_slot(map, hole); map->slots[slot].conn != NULL;
	     slot = next_slot(map, slot)) {
		uint32_t home = home_slot(map, map->slots[slot].key);
		if (((slot - home) & mask) >= ((slot - hole) & mask)) {
			map->slots[hole] = map->slots[slot];
			hole = slot;
		}
	}
	map->slots[hole].conn = NULL;
	map->count--;
	return conn;
}

void conn_map_free(struct conn_map *map)
{
	free(map->slots);
	*map = (struct conn_map){ 0 };
}

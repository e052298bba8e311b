/*
 * A hash map from 64-bit keys (flow ids, command cookies) to connections:
 * open addressing, linear probing, backward-shift deletion, grown at half
 * load.  Not thread-safe: each context owns its maps.
 */
#ifndef LIBTAS_CONN_MAP_H
#define LIBTAS_CONN_MAP_H

#include <stdint.h>

struct tas_conn;

struct conn_map_slot {
	uint64_t key;
	struct tas_conn *conn;    /* NULL: empty slot */
};

struct conn_map {
	struct conn_map_slot *slots;
	uint32_t capacity;        /* 0 or a power of two */
	uint32_t count;
};

/* 0, -EEXIST if key is present, or -ENOMEM. */
int conn_map_insert(struct conn_map *map, uint64_t key, struct tas_conn *conn);
struct tas_conn *conn_map_find(const struct conn_map *map, uint64_t key);
/* The connection that was stored under key, or NULL. */
struct tas_conn *conn_map_remove(struct conn_map *map, uint64_t key);
void conn_map_free(struct conn_map *map);

#endif /* LIBTAS_CONN_MAP_H */

/*
 * The flow table: 4-tuple -> flow id, open addressing with linear probing.
 *
 * One writer (the slow path), any number of lock-free readers (fast-path
 * cores).  A slot's key is written before its flow id is published with a
 * release store; readers load the flow id with acquire before reading the
 * key.  Removal leaves a tombstone that readers probe past; the slot may be
 * reused only after every reader has passed a quiescent point, which the
 * writer signals with flow_table_release_slot().
 */
#ifndef TAS_FLOW_TABLE_H
#define TAS_FLOW_TABLE_H

#include <stdint.h>

struct flow_key {
	uint32_t local_ip;    /* network byte order */
	uint32_t remote_ip;
	uint16_t local_port;
	uint16_t remote_port;
};

struct flow_table;

/* Hash of a key; also selects the flow group (hash % FLOW_GROUPS). */
uint32_t flow_key_hash(const struct flow_key *key);

/* Table for up to max_flows flows (it sizes itself larger). NULL on ENOMEM
 * or if max_flows is 0 or above 2^30. */
struct flow_table *flow_table_create(uint32_t max_flows);
void flow_table_destroy(struct flow_table *table);

/* Writer.  insert: 0, -EEXIST, -ENOSPC, or -EINVAL (flow_id >= max_flows).
 * remove: the slot index of the new tombstone (pass it to
 * flow_table_release_slot after a grace period), or -ENOENT. */
int flow_table_insert(struct flow_table *table, const struct flow_key *key,
		      uint32_t flow_id);
int flow_table_remove(struct flow_table *table, const struct flow_key *key);
void flow_table_release_slot(struct flow_table *table, uint32_t slot);

/* Reader: the flow id, or -1. */
int64_t flow_table_lookup(const struct flow_table *table,
			  const struct flow_key *key, uint32_t hash);

/* Reader: prefetch the slot a lookup of hash will start at. */
void flow_table_prefetch(const struct flow_table *table, uint32_t hash);

#endif /* TAS_FLOW_TABLE_H */

/*
 * The TCP flows one direction of the impairment stage has seen open: for
 * each, the initial sequence number its SYN (or SYN-ACK) carried, so that
 * a segment's sequence number can be read as a stream offset.  A small
 * table: the tests open few connections at a time; when it is full the
 * flow used least recently makes room.
 */
#ifndef TAS_IMPAIR_FLOWS_H
#define TAS_IMPAIR_FLOWS_H

#include <stdbool.h>
#include <stdint.h>

#define IMPAIR_FLOWS_MAX 64u

/* The 4-tuple as the segments of this direction carry it. */
struct impair_flow_key {
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
};

struct impair_flow {
	struct impair_flow_key key;
	uint32_t isn;
	bool offset_dropped;   /* drop-offset has taken its segment */
	bool in_use;
	uint64_t last_used;    /* the table's clock when last looked up */
};

struct impair_flows {
	struct impair_flow flows[IMPAIR_FLOWS_MAX];
	uint64_t clock;        /* counts lookups: orders the entries by use */
};

void impair_flows_init(struct impair_flows *flows);

/* A SYN of key with isn: the flow's entry, new (or renewed, if the ISN
 * differs: a new connection on the same 4-tuple) or as it was (a SYN
 * sent again). */
struct impair_flow *impair_flows_learn(struct impair_flows *flows,
				       const struct impair_flow_key *key,
				       uint32_t isn);

/* The entry of key, or NULL if its SYN was not seen (or was forgotten). */
struct impair_flow *impair_flows_find(struct impair_flows *flows,
				      const struct impair_flow_key *key);

#endif /* TAS_IMPAIR_FLOWS_H */

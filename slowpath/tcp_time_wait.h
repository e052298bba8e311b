/*
 * TIME-WAIT (RFC 9293 section 3.6): what is left of a connection whose
 * FINs were both exchanged, kept for 2*MSL after the fast path and the
 * application let go of it, so that a retransmitted FIN is acknowledged
 * and old duplicates cannot reach a new incarnation of the 4-tuple.
 *
 * Entries are small and separate from connections: they hold no flow id
 * and no buffer.  The table has a fixed capacity; when it is full the
 * oldest entry goes early (as Linux's tcp_max_tw_buckets).
 */
#ifndef TAS_TCP_TIME_WAIT_H
#define TAS_TCP_TIME_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "flow_table.h"

/* 2*MSL with MSL = 30 s: Linux's 60 s TIME-WAIT. */
#define TCP_TIME_WAIT_US 60000000ull

struct time_wait {
	struct flow_key key;
	uint32_t rcv_nxt;
	uint32_t snd_nxt;
	uint32_t ts_recent;
	bool timestamps;
	uint16_t window;          /* as sent in the header */
	uint8_t remote_mac[6];
	uint64_t expires_us;
	/* table-private */
	uint32_t older;
	uint32_t newer;
	bool in_use;
};

int time_wait_init(uint32_t capacity);
void time_wait_fini(void);

/* Enter TIME-WAIT for the connection described by entry (the private
 * fields are ignored) until now_us + TCP_TIME_WAIT_US. */
void time_wait_add(const struct time_wait *entry, uint64_t now_us);

struct time_wait *time_wait_lookup(const struct flow_key *key, uint32_t hash);

/* RFC 9293: a retransmitted FIN restarts the 2*MSL timeout. */
void time_wait_restart(struct time_wait *entry, uint64_t now_us);

void time_wait_remove(struct time_wait *entry);

/* Drop expired entries; the next expiry, or UINT64_MAX. */
uint64_t time_wait_expire(uint64_t now_us);

uint32_t time_wait_count(void);

#endif /* TAS_TCP_TIME_WAIT_H */

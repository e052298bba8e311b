/*
 * One direction of the impairment stage: frames received on one link go
 * through the rules into a release queue and leave by the other link
 * when their time comes.
 */
#ifndef TAS_IMPAIR_PATH_H
#define TAS_IMPAIR_PATH_H

#include <stdbool.h>
#include <stdint.h>

#include "impair_link.h"
#include "impair_queue.h"
#include "impair_rules.h"

/* Counts of the stage itself; the rules count their decisions. */
struct impair_path_counters {
	uint64_t frames;          /* received */
	uint64_t sent;
	uint64_t overflow_drops;  /* no buffer free, or larger than the MTU */
	uint64_t tx_errors;       /* refused by the outgoing interface */
};

struct impair_path {
	const char *name;         /* "a_to_b", for the result line */
	struct impair_link *rx;
	struct impair_link *tx;
	struct impair_rules rules;
	struct impair_pool pool;
	struct impair_fifo fifo;
	uint8_t *discard;         /* receives frames while the pool is empty */
	bool tx_blocked;          /* the socket is full: wait for POLLOUT */
	struct impair_path_counters counters;
};

/* 0, or -1 with why filled in. */
int impair_path_init(struct impair_path *path, const char *name,
		     struct impair_link *rx, struct impair_link *tx,
		     const struct impair_spec *spec, uint64_t seed,
		     uint32_t stream, char *why, size_t why_size);
void impair_path_destroy(struct impair_path *path);

/* Take one batch of waiting frames from rx, as arrived at now_ns.
 * Returns 0, or -errno if rx failed. */
int impair_path_receive(struct impair_path *path, uint64_t now_ns);

/* Send every frame due at now_ns (held frames whose wait is over
 * included), until tx is full.  Returns 0, or -errno if tx is gone. */
int impair_path_transmit(struct impair_path *path, uint64_t now_ns);

/* When transmit has work next: UINT64_MAX if none, or while tx_blocked
 * (then POLLOUT on tx says when). */
uint64_t impair_path_next_wake(const struct impair_path *path);

/* Frames still queued or held (not sent when the stage stops). */
uint64_t impair_path_unsent(const struct impair_path *path);

#endif /* TAS_IMPAIR_PATH_H */

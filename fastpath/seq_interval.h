/*
 * Lists of sequence-number intervals [start, end), kept ascending,
 * disjoint and never adjacent (touching intervals are merged).  The
 * receive side keeps its out-of-order data this way, the send side its
 * SACK scoreboard (flow_recovery.h).  Lists are a handful of entries:
 * linear scans and moves are the fastest there is.
 */
#ifndef TAS_SEQ_INTERVAL_H
#define TAS_SEQ_INTERVAL_H

#include <stdint.h>

struct seq_interval {
	uint32_t start;
	uint32_t end;             /* first sequence number after it */
};

static inline uint32_t seq_interval_len(const struct seq_interval *iv)
{
	return iv->end - iv->start;
}

/*
 * Add [start, end) (start before end) to the list of *count intervals
 * (capacity cap), merging what it overlaps or touches.  Returns the index
 * of the interval now holding it, or -1 if it would need a new entry and
 * the list is full (the list is unchanged).  If dup is not NULL it gets
 * the first part of [start, end) the list held already (start == end:
 * none), which a receiver reports as a D-SACK (RFC 2883).
 */
int seq_intervals_add(struct seq_interval *list, uint8_t *count, unsigned cap,
		      uint32_t start, uint32_t end, struct seq_interval *dup);

/* Forget what lies below seq: drop intervals ending at or before it,
 * clip the one straddling it. */
void seq_intervals_trim(struct seq_interval *list, uint8_t *count,
			uint32_t seq);

/* Total bytes in the list. */
uint32_t seq_intervals_bytes(const struct seq_interval *list, uint8_t count);

#endif /* TAS_SEQ_INTERVAL_H */

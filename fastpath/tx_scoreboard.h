/*
 * The sender's view of what is missing, from its SACK scoreboard
 * (RFC 6675): which holes count as lost and how much data is still in
 * the network ("pipe").  Pure functions over a seq_interval list of
 * SACKed data above SND.UNA.
 *
 * A hole is lost (RFC 6675 IsLost) when DupThresh discontiguous SACKed
 * blocks lie above it or more than (DupThresh - 1) * MSS SACKed bytes do;
 * after a retransmission timeout every hole is (RFC 6675 section 5.1,
 * RFC 5681 section 3.1).  Once recovery has begun, the first MSS of the
 * hole at SND.UNA is lost as well: that is the segment fast retransmit
 * resends (RFC 6675 step 4.3) and, without SACK, what each partial ACK
 * says is missing (RFC 6582).
 */
#ifndef TAS_TX_SCOREBOARD_H
#define TAS_TX_SCOREBOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "seq_interval.h"

#define TX_DUP_THRESH 3u

struct tx_scoreboard {
	const struct seq_interval *sacked;
	uint8_t count;
	uint32_t una;             /* SND.UNA */
	uint32_t limit;           /* RecoveryPoint: nothing above is lost */
	uint32_t mss;
	bool in_recovery;         /* the first MSS at SND.UNA is lost */
	bool all_lost;            /* after a timeout */
};

/* Whether the scoreboard shows the segment at SND.UNA lost: the test for
 * entering fast recovery with SACK. */
bool tx_scoreboard_una_lost(const struct tx_scoreboard *sb);

/* The next lost range at or after from, at most one MSS long; false if
 * nothing lost is left there. */
bool tx_scoreboard_next_lost(const struct tx_scoreboard *sb, uint32_t from,
			     struct seq_interval *out);

/* Lost bytes at or after from (not yet retransmitted): RFC 6675 pipe is
 * what is in flight less the SACKed and these. */
uint32_t tx_scoreboard_lost_bytes(const struct tx_scoreboard *sb,
				  uint32_t from);

#endif /* TAS_TX_SCOREBOARD_H */

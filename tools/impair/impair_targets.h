/*
 * Targeted drops: the SPEC keys drop-syn, drop-synack, drop-fin and
 * drop-offset pick frames by what they carry, not at random, so that a
 * test can lose exactly the segment it is about (the handshake, the FIN,
 * the last data of a transfer) on every run.
 */
#ifndef TAS_IMPAIR_TARGETS_H
#define TAS_IMPAIR_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "impair_flows.h"
#include "impair_spec.h"

struct impair_targets {
	struct impair_flows flows;   /* ISNs, learnt only for drop-offset */
	uint64_t syn_drops;          /* SYNs without ACK, by drop-syn */
	uint64_t synack_drops;       /* by drop-synack */
	uint64_t fin_drops;          /* segments carrying FIN, by drop-fin */
	uint64_t offset_drops;       /* by drop-offset, one per flow at most */
};

void impair_targets_init(struct impair_targets *targets);

/* Whether spec asks for any targeted drop. */
bool impair_targets_wanted(const struct impair_spec *spec);

/* Whether a targeted drop takes this frame (and counts it).  The first
 * drop_syn pure SYNs (no ACK, RST or FIN) of this direction go, the first
 * drop_synack SYN-ACKs, the first drop_fin segments with FIN (sent again
 * or not), and in each flow whose SYN or SYN-ACK passed this way the
 * first segment carrying stream byte drop_offset (a retransmission of
 * it gets through).  Draws no random number. */
bool impair_targets_drop(struct impair_targets *targets,
			 const struct impair_spec *spec, const uint8_t *frame,
			 size_t len);

#endif /* TAS_IMPAIR_TARGETS_H */

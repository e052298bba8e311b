/*
 * Per-flow state that only loss, reordering and the less common modes
 * need: out-of-order intervals held in the receive buffer and the D-SACK
 * to report (RFC 2018, RFC 2883), the sender's SACK scoreboard and
 * recovery markers (RFC 6675), Karn's RTT timing for flows without
 * timestamps (RFC 6298 section 3), the ECN CWR marker (RFC 3168) and the
 * pacing clock of rate-controlled flows.
 *
 * One per flow in svc->flow_recovery[id], next to (not inside) the
 * flow_state, so that in-order data and ACKs that advance SND.UNA never
 * touch it: flow_state.rx_ooo_count, tx_sacked_count, tx_recovery and
 * flags say when it must be read.  Written only by the owning core; the
 * slow path clears it before it installs a flow and reads only the
 * counter.
 */
#ifndef TAS_FLOW_RECOVERY_H
#define TAS_FLOW_RECOVERY_H

#include <assert.h>
#include <stdint.h>

#include "seq_interval.h"

#define FLOW_OOO_INTERVALS 4u     /* out-of-order intervals kept */
/* Scoreboard entries: a tail-dropping queue leaves many holes in one
 * window, and SACKed data the scoreboard cannot hold counts as in flight
 * (pipe), which can stall recovery. */
#define FLOW_SACKED_BLOCKS 32u

struct flow_recovery {
	/* ---- receive side ---- */
	/* Data beyond RCV.NXT already in the receive buffer: ascending,
	 * disjoint, never adjacent. */
	struct seq_interval rx_ooo[FLOW_OOO_INTERVALS];
	/* A duplicate segment to report once, as the first SACK block
	 * (while flow_state.flags has FLOW_F_DSACK). */
	struct seq_interval rx_dsack;
	uint8_t rx_ooo_recent;      /* interval of the latest segment */
	uint8_t paced_waiting;      /* on the core's paced list (fp_pacing.c) */
	uint8_t reserved[2];

	/* ---- send side ---- */
	uint32_t recovery_point;    /* SND.NXT when recovery began */
	uint32_t high_rxt;          /* retransmitted up to here */
	uint32_t rtt_seq;           /* Karn: the timed sequence number */
	uint32_t rtt_start_us;
	uint32_t cwr_seq;           /* ECE ignored until SND.UNA passes it */
	uint32_t cnt_retransmits;   /* segments sent again (for tooling) */
	uint64_t next_send_ns;      /* pacing: earliest next transmission */
	uint32_t reserved2[12];     /* the scoreboard starts a cache line */
	/* SACKed data above SND.UNA: ascending, disjoint, never adjacent. */
	struct seq_interval tx_sacked[FLOW_SACKED_BLOCKS];
};

static_assert(sizeof(struct flow_recovery) == 6 * 64,
	      "flow_recovery is six cache lines, the scoreboard in the last four");

#endif /* TAS_FLOW_RECOVERY_H */

/*
 * Per-flow state of an established connection, as the fast path sees it.
 *
 * Two cache lines at most: the first holds what every received segment
 * touches (identity check, receive sequence space, ACK processing), the
 * second what transmission and notification need.  The slow path fills a
 * flow_state completely before it publishes the flow in the flow table and
 * afterwards changes only the fields marked "sp" (single aligned words,
 * written with relaxed atomic stores); everything else belongs to the fast
 * path core that owns the flow.  Counters marked "cc" are written by the
 * fast path and read by the slow path for congestion control and timeouts.
 *
 * What only loss recovery needs (out-of-order intervals, the SACK
 * scoreboard) lives in a flow_recovery of its own (flow_recovery.h), read
 * only when rx_ooo_count, tx_sacked_count or tx_recovery say so.
 */
#ifndef TAS_FLOW_STATE_H
#define TAS_FLOW_STATE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* flow_state.flags */
#define FLOW_F_TIMESTAMPS 0x01u  /* RFC 7323 timestamps negotiated */
#define FLOW_F_SACK 0x02u        /* SACK permitted by both ends */
#define FLOW_F_RX_FIN 0x04u      /* in-order FIN received and acked */
#define FLOW_F_TX_FIN_REQ 0x08u  /* send FIN after the committed data */
#define FLOW_F_TX_FIN_SENT 0x10u /* FIN is in tx_sent (occupies 1 seq) */
#define FLOW_F_TX_FIN_ACKED 0x20u
#define FLOW_F_IN_TX_QUEUE 0x40u /* linked in the core's queue manager */
#define FLOW_F_DEAD 0x80u        /* being removed: drop everything */
#define FLOW_F_ANNOUNCED 0x100u  /* app told (ACCEPTED/CONNECTED): until
				  * then no events are sent for the flow */
#define FLOW_F_ECN 0x200u        /* RFC 3168 ECN negotiated */
#define FLOW_F_ECE_ECHO 0x400u   /* receiver: CE seen, ECE on our ACKs
				  * until the sender's CWR */
#define FLOW_F_CWR_PENDING 0x800u /* sender: next new data carries CWR */
#define FLOW_F_CWR_WINDOW 0x1000u /* sender: reacted to ECE, ignore more
				   * until SND.UNA passes recovery.cwr_seq */
#define FLOW_F_NODELAY 0x2000u   /* no Nagle: short segments go out */
#define FLOW_F_RTT_TIMING 0x4000u /* Karn: recovery.rtt_seq is timed */
#define FLOW_F_DSACK 0x8000u     /* receiver: recovery.rx_dsack to report */

/* flow_state.tx_recovery (RFC 6675; flow_recovery.h has the rest) */
#define FLOW_TX_OPEN 0u          /* no loss suspected */
#define FLOW_TX_FAST_RECOVERY 1u /* duplicate ACKs or SACKs showed a loss */
#define FLOW_TX_LOSS_RECOVERY 2u /* after a retransmission timeout */

#define FLOW_INDEX_NONE UINT32_MAX

struct flow_state {
	/* ---- cache line 0: receive path ---- */
	uint32_t local_ip;        /* network byte order */
	uint32_t remote_ip;       /* network byte order */
	uint16_t local_port;      /* network byte order */
	uint16_t remote_port;     /* network byte order */
	uint32_t rx_next_seq;     /* RCV.NXT */
	uint32_t rx_avail;        /* free bytes in the rx buffer */
	uint32_t rx_head;         /* write position in the rx buffer */
	uint32_t rx_buf_size;
	uint32_t rx_buf_offset;   /* in the app region */
	uint8_t *region_base;     /* the owning application's region */
	uint32_t tx_next_seq;     /* SND.NXT */
	uint32_t tx_sent;         /* bytes in flight: SND.NXT - SND.UNA */
	uint32_t tx_remote_win;   /* SND.WND, already scaled */
	uint32_t ts_recent;       /* last TSval from the peer */
	uint16_t flags;           /* FLOW_F_* */
	uint8_t snd_wscale;       /* peer's shift, applied to its windows */
	uint8_t rcv_wscale;       /* our shift, applied to our windows */
	uint8_t dupack_count;
	uint8_t rx_ooo_count;     /* out-of-order intervals held */
	uint8_t tx_sacked_count;  /* SACK scoreboard entries */
	uint8_t tx_recovery;      /* FLOW_TX_* */

	/* ---- cache line 1: transmit path, application, counters ---- */
	uint32_t tx_avail;        /* committed by the app, not yet sent */
	uint32_t tx_pos;          /* tx buffer position of SND.NXT */
	uint32_t tx_buf_size;
	uint32_t tx_buf_offset;   /* in the app region */
	uint32_t tx_cwnd;         /* sp: congestion window in bytes */
	uint16_t mss;             /* payload bytes per segment */
	uint8_t remote_mac[6];
	uint16_t app_id;
	uint16_t ctx_id;
	uint32_t flow_gen;        /* generation, checked on app commands */
	uint32_t tx_queue_next;   /* queue manager link (flow index) */
	uint32_t cnt_acked_bytes; /* cc: bytes newly acknowledged */
	uint32_t cnt_ecn_bytes;   /* cc: acked bytes with ECE */
	uint32_t cnt_recoveries;  /* cc: fast recoveries entered */
	uint32_t rtt_us;          /* cc: smoothed RTT, 0 unknown */
	uint32_t tx_rate_kbps;    /* sp: pacing rate, 0: window only */
	uint32_t rx_last_ms;      /* last segment received (keepalive) */
};

static_assert(offsetof(struct flow_state, tx_avail) == 64,
	      "receive-path fields must fit the first cache line");
static_assert(sizeof(struct flow_state) == 128,
	      "flow_state must fit two cache lines");

#endif /* TAS_FLOW_STATE_H */

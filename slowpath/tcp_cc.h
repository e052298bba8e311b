/*
 * Congestion control run by the slow path over the counters the fast path
 * keeps: NewReno-like AIMD with byte counting (RFC 5681, RFC 3465).  The
 * result is a window the slow path stores into flow_state.tx_cwnd.
 */
#ifndef TAS_TCP_CC_H
#define TAS_TCP_CC_H

#include <stdint.h>

#define TCP_CC_INITIAL_SEGMENTS 10u  /* RFC 6928 */
#define TCP_CC_LOSS_SEGMENTS 2u      /* window after a timeout */

struct tcp_cc {
	uint32_t cwnd;         /* bytes */
	uint32_t ssthresh;     /* bytes */
	uint32_t mss;
	uint32_t ca_acked;     /* bytes acked towards the next increase */
	uint32_t max_cwnd;     /* no use growing past what can be in flight */
};

void tcp_cc_init(struct tcp_cc *cc, uint32_t mss, uint32_t max_cwnd);

/* acked bytes were newly acknowledged since the last call.  Below
 * ssthresh, slow start: cwnd += acked (RFC 3465's per-ACK limit L does not
 * apply, acked sums a whole control interval); above, congestion
 * avoidance: one MSS per cwnd bytes acked. */
void tcp_cc_on_acked(struct tcp_cc *cc, uint32_t acked);

/* The fast path retransmitted after duplicate ACKs: halve (RFC 5681 3.2). */
void tcp_cc_on_fast_retransmit(struct tcp_cc *cc);

/* A retransmission timeout with flight bytes outstanding (RFC 5681 (4)). */
void tcp_cc_on_timeout(struct tcp_cc *cc, uint32_t flight);

#endif /* TAS_TCP_CC_H */

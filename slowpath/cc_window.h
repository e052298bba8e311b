/*
 * Window arithmetic the window-based algorithms share: slow start and
 * congestion avoidance of RFC 5681 section 3.1 with the byte counting of
 * RFC 3465, the ssthresh of RFC 5681 equation (4), and the bounds every
 * window keeps: at most max_cwnd, at least TCP_CC_MIN_SEGMENTS segments
 * (only a timeout goes below, to TCP_CC_LOSS_SEGMENTS).
 */
#ifndef TAS_CC_WINDOW_H
#define TAS_CC_WINDOW_H

#include <stdint.h>

#include "tcp_cc.h"

/* TCP_CC_MIN_SEGMENTS * mss: no reduction but a timeout goes below. */
uint32_t cc_window_floor(const struct tcp_cc *cc);

/* bytes limited to max_cwnd: for growth, which never needs the floor. */
uint32_t cc_window_cap(const struct tcp_cc *cc, uint64_t bytes);

/* bytes limited to [cc_window_floor, max_cwnd]: for reductions. */
uint32_t cc_window_clamp(const struct tcp_cc *cc, uint64_t bytes);

/* Slow start, cwnd < ssthresh: cwnd += acked, but not past ssthresh.
 * Returns the acked bytes left once ssthresh is reached (the control
 * interval's ACKs can cross it), for congestion avoidance. */
uint32_t cc_window_slow_start(struct tcp_cc *cc, uint32_t acked);

/* Congestion avoidance: one MSS for every cwnd bytes acked, counted in
 * cc->ca_acked across calls. */
void cc_window_avoid(struct tcp_cc *cc, uint32_t acked);

/* Slow start below ssthresh, congestion avoidance from there on: the
 * Reno growth NewReno and DCTCP (RFC 8257 section 3.4) use. */
void cc_window_reno_grow(struct tcp_cc *cc, uint32_t acked);

/* RFC 5681 equation (4): max(FlightSize / 2, 2 * SMSS). */
uint32_t cc_window_half_flight(const struct tcp_cc *cc, uint32_t flight);

#endif /* TAS_CC_WINDOW_H */

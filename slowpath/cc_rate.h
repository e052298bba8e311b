/*
 * Rate arithmetic the rate-based algorithms (dctcp-rate, TIMELY,
 * const-rate) share: the bounds every rate keeps, the initial rate, and
 * the window that goes with a rate.  Rates are bytes per second.
 */
#ifndef TAS_CC_RATE_H
#define TAS_CC_RATE_H

#include <stdint.h>

#include "tcp_cc.h"

/* 1 Mbit/s: far below any datacenter fair share, and above 0 so that
 * multiplicative decreases never stop a flow for good. */
#define CC_RATE_FLOOR 125000u
/* 1 Tbit/s: no NIC is faster; keeps every product of a rate with a
 * factor or a time in 64 bits. */
#define CC_RATE_CEILING 125000000000ull

/* The initial window (RFC 6928) per CC_RTT_DEFAULT_US: 10 * mss / 100 us. */
uint64_t cc_rate_initial(const struct tcp_cc *cc);

/* Bytes sent in us microseconds at rate, at most UINT32_MAX. */
uint32_t cc_rate_bytes(uint64_t rate, uint32_t us);

/* rate + step * num / den, saturating at CC_RATE_CEILING (steps come
 * from the configuration, unchecked).  den != 0. */
uint64_t cc_rate_add(uint64_t rate, uint64_t step, uint64_t num, uint64_t den);

/* Store rate, bounded to [CC_RATE_FLOOR, CC_RATE_CEILING], and a window
 * that does not bind before the rate does: two round trips (the minimum
 * RTT, at least CC_RTT_DEFAULT_US) at this rate, at least the initial
 * window, at most max_cwnd. */
void cc_rate_set(struct tcp_cc *cc, uint64_t rate);

#endif /* TAS_CC_RATE_H */

/*
 * Round-trip times as the algorithms use them: the lowest RTT seen (the
 * path's propagation delay, for TIMELY's gradient and the rate-based
 * window cap) and the RTT that paces once-per-RTT decisions.
 */
#ifndef TAS_CC_RTT_H
#define TAS_CC_RTT_H

#include <stdint.h>

#include "tcp_cc.h"

/* Assumed before any measurement: a datacenter round trip, the same one
 * tcp_cc_init sizes the rate-based algorithms' initial rate by. */
#define CC_RTT_DEFAULT_US 100u

/* Lower cc->min_rtt_us to rtt_us (0: no measurement, ignored).  Never
 * raised again: it stands for the propagation delay, which only a route
 * change would move. */
void cc_rtt_track_min(struct tcp_cc *cc, uint32_t rtt_us);

/* rtt_us, or the minimum RTT when there is no sample, or the default. */
uint32_t cc_rtt_or_default(const struct tcp_cc *cc, uint32_t rtt_us);

#endif /* TAS_CC_RTT_H */

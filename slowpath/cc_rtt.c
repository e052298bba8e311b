/*
 * Minimum RTT tracking and the RTT the algorithms fall back on.
 */
#include "cc_rtt.h"

void cc_rtt_track_min(struct tcp_cc *cc, uint32_t rtt_us)
{
	if (rtt_us != 0 && (cc->min_rtt_us == 0 || rtt_us < cc->min_rtt_us))
		cc->min_rtt_us = rtt_us;
}

uint32_t cc_rtt_or_default(const struct tcp_cc *cc, uint32_t rtt_us)
{
	if (rtt_us != 0)
		return rtt_us;
	return cc->min_rtt_us != 0 ? cc->min_rtt_us : CC_RTT_DEFAULT_US;
}

/*
 * Shared window arithmetic: RFC 5681 section 3.1 slow start and
 * congestion avoidance with RFC 3465 byte counting, RFC 5681 equation (4).
 */
#include "cc_window.h"

uint32_t cc_window_floor(const struct tcp_cc *cc)
{
	return TCP_CC_MIN_SEGMENTS * cc->mss;
}

uint32_t cc_window_cap(const struct tcp_cc *cc, uint64_t bytes)
{
	return bytes > cc->max_cwnd ? cc->max_cwnd : (uint32_t)bytes;
}

uint32_t cc_window_clamp(const struct tcp_cc *cc, uint64_t bytes)
{
	uint32_t floor = cc_window_floor(cc);

	/* tcp_cc_init keeps max_cwnd at or above the floor. */
	return bytes < floor ? floor : cc_window_cap(cc, bytes);
}

uint32_t cc_window_slow_start(struct tcp_cc *cc, uint32_t acked)
{
	uint32_t room = cc->ssthresh - cc->cwnd;
	uint32_t used = acked < room ? acked : room;

	/* RFC 3465 limits the growth per ACK to L segments; one call sums a
	 * whole interval of ACKs, which may span many round trips (an idle
	 * connection's first interval is up to 50 ms long): at most doubling
	 * per interval keeps a burst of ACKs from opening the window far
	 * beyond what the path has shown it carries. */
	if (used > cc->cwnd)
		used = cc->cwnd;
	cc->cwnd = cc_window_cap(cc, (uint64_t)cc->cwnd + used);
	return acked - used;
}

void cc_window_avoid(struct tcp_cc *cc, uint32_t acked)
{
	uint64_t credit = (uint64_t)cc->ca_acked + acked;

	/* An interval may ack several windows: each one grows by an MSS,
	 * and the next one is an MSS larger. */
	while (credit >= cc->cwnd && cc->cwnd < cc->max_cwnd) {
		credit -= cc->cwnd;
		cc->cwnd = cc_window_cap(cc, (uint64_t)cc->cwnd + cc->mss);
	}
	/* At max_cwnd there is nothing left to count towards. */
	cc->ca_acked = cc->cwnd < cc->max_cwnd ? (uint32_t)credit : 0;
}

void cc_window_reno_grow(struct tcp_cc *cc, uint32_t acked)
{
	if (cc->cwnd < cc->ssthresh)
		acked = cc_window_slow_start(cc, acked);
	if (cc->cwnd >= cc->ssthresh)
		cc_window_avoid(cc, acked);
}

uint32_t cc_window_half_flight(const struct tcp_cc *cc, uint32_t flight)
{
	uint32_t half = flight / 2;
	uint32_t floor = cc_window_floor(cc);

	return half < floor ? floor : half;
}

/*
 * Rate bounds, initial rate and the window cap of the rate-based
 * algorithms.
 */
#include "cc_rate.h"
#include "cc_rtt.h"
#include "cc_window.h"

#define US_PER_S 1000000u

uint64_t cc_rate_initial(const struct tcp_cc *cc)
{
	return (uint64_t)TCP_CC_INITIAL_SEGMENTS * cc->mss * US_PER_S /
	       CC_RTT_DEFAULT_US;
}

uint32_t cc_rate_bytes(uint64_t rate, uint32_t us)
{
	/* Split at whole bytes per microsecond so that neither product
	 * leaves 64 bits for any rate and any 32-bit time. */
	uint64_t bytes = rate / US_PER_S * us + rate % US_PER_S * us / US_PER_S;

	return bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
}

uint64_t cc_rate_add(uint64_t rate, uint64_t step, uint64_t num, uint64_t den)
{
	uint64_t product;

	if (__builtin_mul_overflow(step, num, &product))
		return CC_RATE_CEILING;
	uint64_t gain = product / den;

	if (rate >= CC_RATE_CEILING || gain > CC_RATE_CEILING - rate)
		return CC_RATE_CEILING;
	return rate + gain;
}

void cc_rate_set(struct tcp_cc *cc, uint64_t rate)
{
	uint32_t rtt = cc->min_rtt_us > CC_RTT_DEFAULT_US ? cc->min_rtt_us
							   : CC_RTT_DEFAULT_US;
	uint64_t window;

	if (rate < CC_RATE_FLOOR)
		rate = CC_RATE_FLOOR;
	if (rate > CC_RATE_CEILING)
		rate = CC_RATE_CEILING;
	cc->rate = rate;
	window = 2 * (uint64_t)cc_rate_bytes(rate, rtt);
	if (window < TCP_CC_INITIAL_SEGMENTS * cc->mss)
		window = TCP_CC_INITIAL_SEGMENTS * cc->mss;
	cc->cwnd = cc_window_cap(cc, window);
}

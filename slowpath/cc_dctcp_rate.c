/*
 * dctcp-rate: DCTCP's marked fraction alpha (RFC 8257 section 3.3,
 * cc_dctcp_alpha.c) applied to a sending rate instead of a window.
 *   marks:      rate *= 1 - alpha / 2, at most once per RTT; no growth
 *               in the RTT after the cut
 *   no marks:   until the first congestion signal, the rate doubles per
 *               RTT of acked bytes (slow start); then it grows by
 *               cfg->timely_add_step per RTT of acked bytes
 *   loss:       rate halves, slow start ends
 *   timeout:    back to the initial rate and slow start, as a new
 *               connection: the path's state is unknown again
 * Growth is counted in acked bytes, not time, so that a sender that
 * does not use its rate does not inflate it.  The observation window is
 * one RTT at the current rate.
 */
#include "cc_dctcp_alpha.h"
#include "cc_ops.h"
#include "cc_rate.h"
#include "cc_rtt.h"

#define US_PER_S 1000000u

/* Bytes one RTT carries at the current rate, at least one segment. */
static uint32_t round_trip_bytes(const struct tcp_cc *cc, uint32_t rtt_us)
{
	uint32_t bytes = cc_rate_bytes(cc->rate, rtt_us);

	return bytes > cc->mss ? bytes : cc->mss;
}

static void dctcp_rate_init(struct tcp_cc *cc, const struct tcp_cc_config *cfg)
{
	(void)cfg;
	cc_rate_set(cc, cc_rate_initial(cc));
	cc_dctcp_alpha_init(cc, round_trip_bytes(cc, CC_RTT_DEFAULT_US));
	cc->state.dctcp.rate_slow_start = true;
}

static void dctcp_rate_on_ack(struct tcp_cc *cc,
			      const struct tcp_cc_config *cfg,
			      const struct tcp_cc_sample *sample)
{
	uint32_t rtt_us = cc_rtt_or_default(cc, sample->rtt_us);
	uint32_t acked = sample->acked_bytes;
	uint32_t marked = cc_dctcp_alpha_observe(cc, cfg, sample);

	/* The RTT after a cut holds the rate, as dctcp holds its window. */
	if (sample->now_us >= cc->recovery_until_us) {
		if (marked != 0) {
			cc_rate_set(cc, cc_dctcp_alpha_reduce(cc, cc->rate));
			cc->state.dctcp.rate_slow_start = false;
			cc->recovery_until_us = sample->now_us + rtt_us;
		} else if (cc->state.dctcp.rate_slow_start) {
			/* acked bytes per RTT: the whole rate, if used */
			cc_rate_set(cc, cc_rate_add(cc->rate, US_PER_S, acked,
						    rtt_us));
		} else {
			cc_rate_set(cc, cc_rate_add(cc->rate,
						    cfg->timely_add_step, acked,
						    round_trip_bytes(cc, rtt_us)));
		}
	}
	cc_dctcp_alpha_open(cc, round_trip_bytes(cc, rtt_us));
}

static void dctcp_rate_on_loss(struct tcp_cc *cc,
			       const struct tcp_cc_config *cfg, uint32_t flight,
			       uint64_t now_us)
{
	(void)cfg;
	(void)flight;
	(void)now_us;
	cc_rate_set(cc, cc->rate / 2);
	cc->state.dctcp.rate_slow_start = false;
}

static void dctcp_rate_on_timeout(struct tcp_cc *cc,
				  const struct tcp_cc_config *cfg,
				  uint32_t flight, uint64_t now_us)
{
	(void)cfg;
	(void)flight;
	(void)now_us;
	cc_rate_set(cc, cc_rate_initial(cc));
	cc->state.dctcp.rate_slow_start = true;
}

const struct tcp_cc_ops cc_dctcp_rate_ops = {
	.name = "dctcp-rate",
	.init = dctcp_rate_init,
	.on_ack = dctcp_rate_on_ack,
	.on_loss = dctcp_rate_on_loss,
	.on_timeout = dctcp_rate_on_timeout,
};

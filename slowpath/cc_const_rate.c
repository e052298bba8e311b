/*
 * const-rate: a fixed sending rate, cfg->const_rate (bounded like every
 * rate, cc_rate.h), and a window of max_cwnd so that only the rate
 * limits.  No reaction to ACKs, marks, loss or timeouts: for testing,
 * and for paths whose capacity is provisioned.  The rate is taken from
 * the configuration on every call, so a changed configuration applies
 * at the next interval.
 */
#include "cc_ops.h"
#include "cc_rate.h"

static void apply_const_rate(struct tcp_cc *cc, const struct tcp_cc_config *cfg)
{
	cc_rate_set(cc, cfg->const_rate);
	cc->cwnd = cc->max_cwnd;
}

static void const_rate_on_ack(struct tcp_cc *cc,
			      const struct tcp_cc_config *cfg,
			      const struct tcp_cc_sample *sample)
{
	(void)sample;
	apply_const_rate(cc, cfg);
}

static void const_rate_on_congestion(struct tcp_cc *cc,
				     const struct tcp_cc_config *cfg,
				     uint32_t flight, uint64_t now_us)
{
	(void)flight;
	(void)now_us;
	apply_const_rate(cc, cfg);
}

const struct tcp_cc_ops cc_const_rate_ops = {
	.name = "const-rate",
	.init = apply_const_rate,
	.on_ack = const_rate_on_ack,
	.on_loss = const_rate_on_congestion,
	.on_timeout = const_rate_on_congestion,
};

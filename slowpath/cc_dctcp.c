/*
 * DCTCP, RFC 8257, window-based: alpha estimates the fraction of marked
 * bytes (cc_dctcp_alpha.c); marks cut the window to cwnd * (1 - alpha/2)
 * at most once per RTT (section 3.3), growth is Reno's (section 3.4) and
 * so is the reaction to loss (section 3.5).
 */
#include "cc_dctcp_alpha.h"
#include "cc_newreno.h"
#include "cc_ops.h"
#include "cc_rtt.h"
#include "cc_window.h"

static void dctcp_init(struct tcp_cc *cc, const struct tcp_cc_config *cfg)
{
	(void)cfg;
	/* RFC 8257: the observation window is about one cwnd of data. */
	cc_dctcp_alpha_init(cc, cc->cwnd);
}

/* cwnd * (1 - alpha / 2), ssthresh with it (so growth resumes in
 * congestion avoidance), and no other reduction for one RTT. */
static void reduce(struct tcp_cc *cc, const struct tcp_cc_sample *sample)
{
	cc->cwnd = cc_window_clamp(cc, cc_dctcp_alpha_reduce(cc, cc->cwnd));
	cc->ssthresh = cc->cwnd;
	cc->ca_acked = 0;
	cc->recovery_until_us =
		sample->now_us + cc_rtt_or_default(cc, sample->rtt_us);
}

static void dctcp_on_ack(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			 const struct tcp_cc_sample *sample)
{
	uint32_t marked = cc_dctcp_alpha_observe(cc, cfg, sample);

	/* In the round trip after a reduction the marks answer data sent
	 * before it (RFC 3168 section 6.1.2 reacts once per window), and,
	 * as during loss recovery, the window holds. */
	if (sample->now_us >= cc->recovery_until_us) {
		if (marked != 0)
			reduce(cc, sample);
		else
			cc_window_reno_grow(cc, sample->acked_bytes);
	}
	cc_dctcp_alpha_open(cc, cc->cwnd);
}

const struct tcp_cc_ops cc_dctcp_ops = {
	.name = "dctcp",
	.init = dctcp_init,
	.on_ack = dctcp_on_ack,
	.on_loss = cc_newreno_on_loss,
	.on_timeout = cc_newreno_on_timeout,
};

/*
 * NewReno: RFC 5681 slow start and congestion avoidance with RFC 3465
 * byte counting, RFC 5681 / RFC 6582 multiplicative decrease.  The fast
 * path runs the recovery itself; the slow path only sets the window the
 * recovery ends with.
 */
#include "cc_newreno.h"
#include "cc_ops.h"
#include "cc_window.h"

static void newreno_on_ack(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			   const struct tcp_cc_sample *sample)
{
	(void)cfg;
	cc_window_reno_grow(cc, sample->acked_bytes);
}

void cc_newreno_on_loss(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			uint32_t flight, uint64_t now_us)
{
	(void)cfg;
	(void)now_us;
	cc->ssthresh = cc_window_half_flight(cc, flight);
	cc->cwnd = cc_window_clamp(cc, cc->ssthresh);
	cc->ca_acked = 0;
}

void cc_newreno_on_timeout(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			   uint32_t flight, uint64_t now_us)
{
	(void)cfg;
	(void)now_us;
	cc->ssthresh = cc_window_half_flight(cc, flight);
	cc->cwnd = TCP_CC_LOSS_SEGMENTS * cc->mss;
	cc->ca_acked = 0;
}

const struct tcp_cc_ops cc_newreno_ops = {
	.name = "newreno",
	.on_ack = newreno_on_ack,
	.on_loss = cc_newreno_on_loss,
	.on_timeout = cc_newreno_on_timeout,
};

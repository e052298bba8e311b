/*
 * AIMD congestion window, RFC 5681 with RFC 3465 byte counting.
 */
#include "tcp_cc.h"

static uint32_t at_least_loss_window(const struct tcp_cc *cc, uint64_t bytes)
{
	uint32_t floor = TCP_CC_LOSS_SEGMENTS * cc->mss;

	return bytes < floor ? floor : (uint32_t)bytes;
}

static void clamp_to_max(struct tcp_cc *cc)
{
	if (cc->cwnd > cc->max_cwnd)
		cc->cwnd = cc->max_cwnd;
}

void tcp_cc_init(struct tcp_cc *cc, uint32_t mss, uint32_t max_cwnd)
{
	if (mss == 0)
		mss = 1;
	*cc = (struct tcp_cc){
		.cwnd = TCP_CC_INITIAL_SEGMENTS * mss,
		.ssthresh = UINT32_MAX,
		.mss = mss,
		.max_cwnd = max_cwnd < TCP_CC_LOSS_SEGMENTS * mss ?
				    TCP_CC_LOSS_SEGMENTS * mss : max_cwnd,
	};
	clamp_to_max(cc);
}

void tcp_cc_on_acked(struct tcp_cc *cc, uint32_t acked)
{
	if (cc->cwnd < cc->ssthresh) {
		uint64_t grown = (uint64_t)cc->cwnd + acked;
		cc->cwnd = grown > cc->ssthresh ? cc->ssthresh : (uint32_t)grown;
	} else {
		/* Congestion avoidance: one MSS for every cwnd bytes acked. */
		uint64_t credit = (uint64_t)cc->ca_acked + acked;
		while (credit >= cc->cwnd && cc->cwnd < cc->max_cwnd) {
			credit -= cc->cwnd;
			cc->cwnd += cc->mss;
		}
		cc->ca_acked = credit >= cc->cwnd ? 0 : (uint32_t)credit;
	}
	clamp_to_max(cc);
}

void tcp_cc_on_fast_retransmit(struct tcp_cc *cc)
{
	cc->ssthresh = at_least_loss_window(cc, cc->cwnd / 2);
	cc->cwnd = cc->ssthresh;
	cc->ca_acked = 0;
}

void tcp_cc_on_timeout(struct tcp_cc *cc, uint32_t flight)
{
	cc->ssthresh = at_least_loss_window(cc, flight / 2);
	cc->cwnd = TCP_CC_LOSS_SEGMENTS * cc->mss;
	cc->ca_acked = 0;
}

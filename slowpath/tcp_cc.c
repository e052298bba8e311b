/*
 * Congestion control front end (tcp_cc.h): the per-service defaults,
 * algorithm names, and the work every algorithm shares (MSS and window
 * bounds, the initial window of RFC 6928, minimum RTT) before handing
 * each event to the algorithm's table (cc_ops.h).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "cc_ops.h"
#include "cc_rtt.h"
#include "tcp_cc.h"

/* RFC 9293 section 3.7.1: the send MSS when the peer sent no option. */
#define DEFAULT_MSS 536u
/* The MSS option is 16 bits (RFC 9293 section 3.2); the bound also keeps
 * every product of the MSS with a segment count in 32 bits. */
#define MAX_MSS 65535u

static const struct tcp_cc_ops *const algorithms[TCP_CC_COUNT] = {
	[TCP_CC_NEWRENO] = &cc_newreno_ops,
	[TCP_CC_CUBIC] = &cc_cubic_ops,
	[TCP_CC_DCTCP] = &cc_dctcp_ops,
	[TCP_CC_DCTCP_RATE] = &cc_dctcp_rate_ops,
	[TCP_CC_TIMELY] = &cc_timely_ops,
	[TCP_CC_CONST_RATE] = &cc_const_rate_ops,
};

void tcp_cc_config_default(struct tcp_cc_config *cfg)
{
	*cfg = (struct tcp_cc_config){
		.algorithm = TCP_CC_NEWRENO,
		.const_rate = 125000000,     /* 1 Gbit/s */
		/* the TIMELY paper's thresholds and step */
		.timely_t_low_us = 50,
		.timely_t_high_us = 500,
		.timely_add_step = 1250000,  /* 10 Mbit/s */
		.dctcp_g_shift = 4,          /* g = 1/16, as RFC 8257 suggests */
	};
}

int tcp_cc_parse(const char *name, enum tcp_cc_algorithm *algorithm)
{
	if (name == NULL)
		return -EINVAL;
	for (unsigned i = 0; i < TCP_CC_COUNT; i++) {
		if (strcmp(name, algorithms[i]->name) == 0) {
			*algorithm = (enum tcp_cc_algorithm)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *tcp_cc_name(enum tcp_cc_algorithm algorithm)
{
	if ((unsigned)algorithm >= TCP_CC_COUNT)
		return "unknown";
	return algorithms[algorithm]->name;
}

void tcp_cc_init(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
		 enum tcp_cc_algorithm algorithm, uint32_t mss,
		 uint32_t max_cwnd)
{
	if (mss == 0)
		mss = DEFAULT_MSS;
	if (mss > MAX_MSS)
		mss = MAX_MSS;
	/* Below the floor of reductions the two bounds would contradict. */
	if (max_cwnd < TCP_CC_MIN_SEGMENTS * mss)
		max_cwnd = TCP_CC_MIN_SEGMENTS * mss;
	if ((unsigned)algorithm >= TCP_CC_COUNT)
		algorithm = TCP_CC_NEWRENO;
	*cc = (struct tcp_cc){
		.algorithm = algorithm,
		.mss = mss,
		.cwnd = TCP_CC_INITIAL_SEGMENTS * mss < max_cwnd ?
				TCP_CC_INITIAL_SEGMENTS * mss : max_cwnd,
		.ssthresh = UINT32_MAX,
		.max_cwnd = max_cwnd,
	};
	if (algorithms[algorithm]->init != NULL)
		algorithms[algorithm]->init(cc, cfg);
}

void tcp_cc_on_ack(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
		   const struct tcp_cc_sample *sample)
{
	cc_rtt_track_min(cc, sample->rtt_us);
	algorithms[cc->algorithm]->on_ack(cc, cfg, sample);
}

/* What a reduction starts from: the flight, but never more than the
 * window (RFC 9438 section 4.6 allows either).  Lost data still counts
 * as in flight, so a second reduction in one bout of congestion would
 * otherwise raise the window. */
static uint32_t reduction_base(const struct tcp_cc *cc, uint32_t flight)
{
	return flight < cc->cwnd ? flight : cc->cwnd;
}

void tcp_cc_on_loss(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
		    uint32_t flight, uint64_t now_us)
{
	algorithms[cc->algorithm]->on_loss(cc, cfg, reduction_base(cc, flight),
					   now_us);
}

void tcp_cc_on_timeout(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
		       uint32_t flight, uint64_t now_us)
{
	algorithms[cc->algorithm]->on_timeout(cc, cfg, reduction_base(cc, flight),
					      now_us);
}

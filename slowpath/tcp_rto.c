/*
 * RFC 6298 retransmission timeout: SRTT/RTTVAR smoothing with alpha = 1/8,
 * beta = 1/4, K = 4.
 */
#include "tcp_rto.h"

#define RTO_K 4u

static uint32_t clamp_rto(uint64_t rto_us)
{
	if (rto_us < TCP_RTO_MIN_US)
		return TCP_RTO_MIN_US;
	if (rto_us > TCP_RTO_MAX_US)
		return TCP_RTO_MAX_US;
	return (uint32_t)rto_us;
}

void tcp_rto_init(struct tcp_rto *rto)
{
	*rto = (struct tcp_rto){ .rto_us = TCP_RTO_INITIAL_US };
}

void tcp_rto_sample(struct tcp_rto *rto, uint32_t rtt_us)
{
	if (!rto->has_sample) {
		/* (2.2) SRTT <- R, RTTVAR <- R/2 */
		rto->srtt_us = rtt_us;
		rto->rttvar_us = rtt_us / 2;
		rto->has_sample = true;
	} else {
		/* (2.3) RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|, then
		 * SRTT <- 7/8 SRTT + 1/8 R' (RTTVAR uses the old SRTT). */
		uint32_t delta = rto->srtt_us > rtt_us ? rto->srtt_us - rtt_us
						       : rtt_us - rto->srtt_us;
		rto->rttvar_us = (uint32_t)(((uint64_t)rto->rttvar_us * 3 + delta) / 4);
		rto->srtt_us = (uint32_t)(((uint64_t)rto->srtt_us * 7 + rtt_us) / 8);
	}
	/* RTO <- SRTT + max(G, K*RTTVAR) */
	uint64_t variance = (uint64_t)RTO_K * rto->rttvar_us;
	if (variance < TCP_RTO_GRANULARITY_US)
		variance = TCP_RTO_GRANULARITY_US;
	rto->rto_us = clamp_rto(rto->srtt_us + variance);
}

void tcp_rto_backoff(struct tcp_rto *rto)
{
	rto->rto_us = clamp_rto((uint64_t)rto->rto_us * 2);
}

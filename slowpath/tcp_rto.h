/*
 * Retransmission timeout computation, RFC 6298, with Linux's 200 ms floor
 * in place of the RFC's 1 s (section 2.4 allows it) and a 60 s ceiling
 * (section 2.5).
 */
#ifndef TAS_TCP_RTO_H
#define TAS_TCP_RTO_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_RTO_INITIAL_US 1000000u   /* RFC 6298 section 2.1 */
#define TCP_RTO_MIN_US 200000u
#define TCP_RTO_MAX_US 60000000u
/* Clock granularity G of section 2: the slow path's timer tick while
 * data is in flight. */
#define TCP_RTO_GRANULARITY_US 2000u

struct tcp_rto {
	uint32_t srtt_us;      /* SRTT, valid once has_sample */
	uint32_t rttvar_us;    /* RTTVAR */
	uint32_t rto_us;       /* current RTO, backed off included */
	bool has_sample;
};

/* Section 2.1: no measurement yet, RTO = 1 s. */
void tcp_rto_init(struct tcp_rto *rto);

/* Sections 2.2 and 2.3: take an RTT measurement; the RTO it gives replaces
 * any back-off (section 5.7 restarts from the measured value). */
void tcp_rto_sample(struct tcp_rto *rto, uint32_t rtt_us);

/* Section 5.5: the timer expired, double the RTO (up to the ceiling). */
void tcp_rto_backoff(struct tcp_rto *rto);

#endif /* TAS_TCP_RTO_H */

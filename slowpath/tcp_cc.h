/*
 * Congestion control, run by the slow path once per control interval over
 * the counters the fast path keeps (acked bytes, ECE-marked acked bytes,
 * recovery episodes, smoothed RTT).  Each algorithm turns them into a
 * congestion window and, for the rate-based ones, a sending rate that the
 * fast path enforces (flow_state.tx_cwnd, flow_state.tx_rate).
 *
 *   newreno     RFC 5681 / RFC 6582 AIMD with RFC 3465 byte counting
 *   cubic       RFC 9438
 *   dctcp       RFC 8257, window-based
 *   dctcp-rate  DCTCP's ECN fraction applied to a sending rate
 *   timely      TIMELY (Mittal et al., SIGCOMM 2015): RTT gradient, rate
 *   const-rate  a fixed rate, no reaction
 *
 * The algorithm is chosen per service (--cc) and may be overridden per
 * connection (TAS_CMD_SET_CC).  Pure code: no DPDK, no clock of its own
 * (every call gets now_us), so the unit tests drive it with synthetic
 * sequences.
 */
#ifndef TAS_TCP_CC_H
#define TAS_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_CC_INITIAL_SEGMENTS 10u  /* RFC 6928 */
#define TCP_CC_LOSS_SEGMENTS 1u      /* window after a timeout (RFC 5681) */
#define TCP_CC_MIN_SEGMENTS 2u       /* no window below this otherwise */

enum tcp_cc_algorithm {
	TCP_CC_NEWRENO,
	TCP_CC_CUBIC,
	TCP_CC_DCTCP,
	TCP_CC_DCTCP_RATE,
	TCP_CC_TIMELY,
	TCP_CC_CONST_RATE,
	TCP_CC_COUNT,
};

/* Per-service settings every connection starts from. */
struct tcp_cc_config {
	enum tcp_cc_algorithm algorithm;
	uint64_t const_rate;       /* bytes/s for const-rate (raised to the
				    * 1 Mbit/s rate floor, so 0 is safe) */
	/* TIMELY: thresholds and steps (defaults from tcp_cc_config_default) */
	uint32_t timely_t_low_us;
	uint32_t timely_t_high_us;
	uint64_t timely_add_step;  /* bytes/s added per update; dctcp-rate
				    * adds it once per RTT of acked bytes */
	/* DCTCP: weight g of the ECN fraction's moving average, 1/2^shift
	 * (shifts above 10 act as 10: alpha has 10 fractional bits) */
	uint8_t dctcp_g_shift;
};

/* What the fast path's counters say about one control interval. */
struct tcp_cc_sample {
	uint64_t now_us;
	uint32_t acked_bytes;      /* newly acknowledged since the last call */
	uint32_t ecn_bytes;        /* of those, acknowledged with ECE */
	uint32_t rtt_us;           /* latest smoothed RTT, 0: none yet */
	uint32_t flight;           /* bytes in flight now */
};

struct tcp_cc {
	enum tcp_cc_algorithm algorithm;
	uint32_t mss;
	uint32_t cwnd;             /* bytes; what the fast path may have out */
	uint32_t ssthresh;         /* bytes */
	uint32_t max_cwnd;         /* no use growing past the send buffer */
	uint64_t rate;             /* bytes/s; 0: not paced (window only) */
	uint32_t ca_acked;         /* byte counting towards the next MSS */
	uint32_t min_rtt_us;       /* lowest RTT seen, 0: none */
	uint64_t recovery_until_us; /* one reduction per RTT (ECN) */
	union {
		struct {
			uint32_t w_max;      /* bytes, before the last reduction */
			uint32_t w_est;      /* Reno-friendly estimate, bytes */
			uint64_t epoch_us;   /* start of this growth epoch, 0: none */
			uint32_t k_us;       /* time to reach w_max again */
			uint32_t est_acked;  /* byte counting for w_est */
			uint32_t cwnd_prior; /* cwnd when ssthresh was last set */
			uint32_t grow_carry; /* (target - cwnd) * acked left
					      * over from the last division */
		} cubic;
		struct {
			uint32_t alpha;      /* ECN fraction estimate, 1024 = 1.0 */
			uint32_t window_acked;
			uint32_t window_marked;
			uint32_t window_bytes; /* size of the observation window */
			bool rate_slow_start; /* dctcp-rate: no congestion
					       * yet, double per RTT */
		} dctcp;
		struct {
			uint32_t prev_rtt_us;
			int32_t rtt_diff_us; /* EWMA of RTT differences */
			uint32_t hai_count;  /* consecutive non-positive gradients */
			uint64_t last_update_us;
		} timely;
	} state;
};

/* Defaults: newreno, TIMELY 50/500 us, 10 Mbit/s step, DCTCP g = 1/16,
 * const-rate 1 Gbit/s. */
void tcp_cc_config_default(struct tcp_cc_config *cfg);

/* "newreno", "cubic", "dctcp", "dctcp-rate", "timely", "const-rate";
 * 0 or -EINVAL. */
int tcp_cc_parse(const char *name, enum tcp_cc_algorithm *algorithm);
const char *tcp_cc_name(enum tcp_cc_algorithm algorithm);

/* A new connection: initial window (RFC 6928), ssthresh unlimited; the
 * rate-based algorithms start at a rate that sends the initial window in
 * one RTT of 100 us (TIMELY, dctcp-rate) or at cfg->const_rate.  An mss
 * of 0 (unknown) counts as 536, the default send MSS of RFC 9293 section
 * 3.7.1, and one above 65535 as 65535; max_cwnd is raised to at least
 * TCP_CC_MIN_SEGMENTS segments; an unknown algorithm counts as newreno. */
void tcp_cc_init(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
		 enum tcp_cc_algorithm algorithm, uint32_t mss,
		 uint32_t max_cwnd);

/* A control interval passed with ACKs (sample->acked_bytes may be 0: the
 * RTT-based algorithms still react to a new RTT). */
void tcp_cc_on_ack(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
		   const struct tcp_cc_sample *sample);

/* The fast path entered loss recovery (three duplicate ACKs or SACK
 * evidence): once per episode, multiplicative decrease. */
void tcp_cc_on_loss(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
		    uint32_t flight, uint64_t now_us);

/* A retransmission timeout with flight bytes outstanding (RFC 5681 (4)):
 * window to one segment, ssthresh to half the flight (CUBIC: 0.7 of it,
 * RFC 9438 section 4.8); the rate-based algorithms lower (TIMELY) or
 * restart (dctcp-rate) their rate, const-rate keeps it. */
void tcp_cc_on_timeout(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
		       uint32_t flight, uint64_t now_us);

#endif /* TAS_TCP_CC_H */

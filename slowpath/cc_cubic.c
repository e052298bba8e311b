/*
 * CUBIC, RFC 9438.  In segments and seconds the window follows
 *   W_cubic(t) = C * (t - K)^3 + W_max,  K = cbrt((W_max - cwnd_epoch) / C)
 * from the start of each congestion avoidance epoch (section 4.2), with
 * C = 0.4 and beta_cubic = 0.7, and never grows slower than the Reno
 * estimate W_est (section 4.3).  Here windows are bytes (segments * mss)
 * and times microseconds; the curve is evaluated in whole milliseconds,
 * far finer than it moves, in integer arithmetic.
 */
#include "cc_ops.h"
#include "cc_rtt.h"
#include "cc_window.h"

/* beta_cubic = 7/10 (section 4.6) */
#define BETA_NUM 7u
#define BETA_DEN 10u
/* 1 / C in ms^3 per segment: C * t^3 segments = t_ms^3 / 2.5e9 */
#define MS3_PER_SEGMENT 2500000000ull
/* alpha_cubic = 3 * (1 - beta) / (1 + beta) = 9/17 (section 4.3) */
#define ALPHA_NUM 9u
#define ALPHA_DEN 17u
/* From 2^21 ms (35 minutes) on, t^3 no longer fits 64 bits; the curve is
 * more than 3.6e9 segments away from W_max by then, past any window. */
#define MAX_OFFSET_MS (1u << 21)
#define PAST_ANY_WINDOW ((uint64_t)UINT32_MAX + 1)
/* cbrt(2^64) is just below this: the bisection's upper bound. */
#define CBRT_UINT64_LIMIT 2642246u

#define cubic_of(cc) (&(cc)->state.cubic)

static uint64_t cube_root(uint64_t x)
{
	uint64_t low = 0, high = CBRT_UINT64_LIMIT;

	/* low^3 <= x < high^3 */
	while (high - low > 1) {
		uint64_t mid = low + (high - low) / 2;

		if (mid * mid * mid <= x)
			low = mid;
		else
			high = mid;
	}
	return low;
}

/* |C * (t - K)^3| in bytes for |t - K| = offset_us. */
static uint64_t curve_offset_bytes(uint32_t mss, uint64_t offset_us)
{
	uint64_t ms = offset_us / 1000;

	if (ms >= MAX_OFFSET_MS)
		return PAST_ANY_WINDOW;
	uint64_t cube = ms * ms * ms;
	/* Split so that neither product with the (16-bit) MSS overflows. */
	return cube / MS3_PER_SEGMENT * mss +
	       cube % MS3_PER_SEGMENT * mss / MS3_PER_SEGMENT;
}

/* W_cubic(t) in bytes, t in microseconds since the epoch began. */
static int64_t curve_at(const struct tcp_cc *cc, uint64_t t_us)
{
	int64_t w_max = cubic_of(cc)->w_max;
	uint64_t k_us = cubic_of(cc)->k_us;

	if (t_us >= k_us)
		return w_max + (int64_t)curve_offset_bytes(cc->mss, t_us - k_us);
	return w_max - (int64_t)curve_offset_bytes(cc->mss, k_us - t_us);
}

/* max(bytes * beta_cubic, 2 * mss): ssthresh after a congestion event. */
static uint32_t reduced_window(const struct tcp_cc *cc, uint32_t bytes)
{
	return cc_window_clamp(cc, (uint64_t)bytes * BETA_NUM / BETA_DEN);
}

/* The first ACK of congestion avoidance after a reduction (or after slow
 * start) starts the epoch: K from the distance to W_max, W_est from the
 * current window. */
static void start_epoch(struct tcp_cc *cc, uint64_t now_us)
{
	uint32_t deficit;

	/* 0 means no epoch, so an epoch starting at time 0 starts at 1. */
	cubic_of(cc)->epoch_us = now_us != 0 ? now_us : 1;
	if (cubic_of(cc)->w_max > cc->cwnd) {
		/* K in ms = cbrt(deficit in segments / C * 1e9), the
		 * product below at most 2^32 * 2.5e9 < 2^64. */
		deficit = cubic_of(cc)->w_max - cc->cwnd;
		cubic_of(cc)->k_us = (uint32_t)cube_root(
			deficit * MS3_PER_SEGMENT / cc->mss) * 1000;
	} else {
		/* After a timeout (section 4.8), or when the window has
		 * already passed W_max: K = 0 and W_max = cwnd_epoch, the
		 * curve starts convex from here. */
		cubic_of(cc)->w_max = cc->cwnd;
		cubic_of(cc)->k_us = 0;
	}
	cubic_of(cc)->w_est = cc->cwnd;
	cubic_of(cc)->est_acked = 0;
	cubic_of(cc)->grow_carry = 0;
}

/* Section 4.3: W_est += alpha_cubic * segments_acked / cwnd, i.e.
 * alpha_cubic segments per cwnd of acked bytes, counted like
 * cc_window_avoid; alpha_cubic becomes 1 once W_est reaches cwnd_prior. */
static void grow_reno_estimate(struct tcp_cc *cc, uint32_t acked)
{
	uint64_t credit = (uint64_t)cubic_of(cc)->est_acked + acked;
	uint64_t gain = credit / cc->cwnd * cc->mss;

	cubic_of(cc)->est_acked = (uint32_t)(credit % cc->cwnd);
	if (cubic_of(cc)->w_est < cubic_of(cc)->cwnd_prior)
		gain = gain * ALPHA_NUM / ALPHA_DEN;
	cubic_of(cc)->w_est =
		cc_window_cap(cc, (uint64_t)cubic_of(cc)->w_est + gain);
}

/* Sections 4.2, 4.4, 4.5: approach the curve one RTT ahead, target
 * within [cwnd, 1.5 cwnd], by (target - cwnd) / cwnd per acked segment,
 * i.e. (target - cwnd) * acked / cwnd bytes, never past target.  The
 * division's remainder carries to the next interval: small intervals
 * on a large window would otherwise round every step to nothing. */
static void grow_toward_curve(struct tcp_cc *cc, uint64_t t_us, uint32_t rtt_us,
			      uint32_t acked)
{
	int64_t target = curve_at(cc, t_us + rtt_us);
	uint64_t ceiling = (uint64_t)cc->cwnd + cc->cwnd / 2;

	if (target <= (int64_t)cc->cwnd)
		return;
	if ((uint64_t)target > ceiling)
		target = (int64_t)ceiling;
	uint64_t gap = (uint64_t)target - cc->cwnd;
	/* gap <= 2^31 and acked < 2^32: the product stays in 64 bits. */
	uint64_t scaled = gap * acked + cubic_of(cc)->grow_carry;
	uint64_t step = scaled / cc->cwnd;

	if (step >= gap) {
		step = gap;
		cubic_of(cc)->grow_carry = 0;
	} else {
		cubic_of(cc)->grow_carry = (uint32_t)(scaled % cc->cwnd);
	}
	cc->cwnd = cc_window_cap(cc, cc->cwnd + step);
}

static void avoid_congestion(struct tcp_cc *cc,
			     const struct tcp_cc_sample *sample, uint32_t acked)
{
	if (cubic_of(cc)->epoch_us == 0)
		start_epoch(cc, sample->now_us);
	uint64_t t_us = sample->now_us > cubic_of(cc)->epoch_us ?
				sample->now_us - cubic_of(cc)->epoch_us : 0;

	grow_reno_estimate(cc, acked);
	if (curve_at(cc, t_us) < (int64_t)cubic_of(cc)->w_est) {
		/* Reno-friendly region (section 4.3): cwnd = W_est.  Not
		 * below the current window, though: cwnd may already be
		 * ahead of W_est, chasing the curve one RTT ahead, and an
		 * ACK should not shrink it. */
		if (cubic_of(cc)->w_est > cc->cwnd)
			cc->cwnd = cubic_of(cc)->w_est;
		return;
	}
	grow_toward_curve(cc, t_us, cc_rtt_or_default(cc, sample->rtt_us),
			  acked);
}

static void cubic_on_ack(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			 const struct tcp_cc_sample *sample)
{
	uint32_t acked = sample->acked_bytes;

	(void)cfg;
	/* Section 4.10: slow start below ssthresh, as Reno does. */
	if (cc->cwnd < cc->ssthresh)
		acked = cc_window_slow_start(cc, acked);
	if (acked != 0 && cc->cwnd >= cc->ssthresh)
		avoid_congestion(cc, sample, acked);
}

/* Sections 4.6 and 4.7: W_max with fast convergence, then
 * ssthresh = cwnd = max(flight * beta_cubic, 2 * mss).  RFC 9438 scales
 * the flight size: scaling cwnd instead would need guards against
 * growth while application limited that the counters cannot give. */
static void cubic_on_loss(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			  uint32_t flight, uint64_t now_us)
{
	(void)cfg;
	(void)now_us;
	if (cc->cwnd < cubic_of(cc)->w_max) {
		/* Still below the last maximum: release bandwidth to new
		 * flows by remembering less, (1 + beta) / 2 of cwnd. */
		cubic_of(cc)->w_max = (uint32_t)((uint64_t)cc->cwnd *
						 (BETA_DEN + BETA_NUM) /
						 (2 * BETA_DEN));
	} else {
		cubic_of(cc)->w_max = cc->cwnd;
	}
	cubic_of(cc)->cwnd_prior = cc->cwnd;
	cc->ssthresh = reduced_window(cc, flight);
	cc->cwnd = cc->ssthresh;
	cubic_of(cc)->epoch_us = 0;
}

/* Section 4.8: the window collapses as in Reno (RFC 5681), ssthresh
 * scales by beta_cubic, and the next epoch runs the curve with K = 0 and
 * W_max = cwnd_epoch, which start_epoch does for a W_max of 0. */
static void cubic_on_timeout(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			     uint32_t flight, uint64_t now_us)
{
	(void)cfg;
	(void)now_us;
	cubic_of(cc)->cwnd_prior = cc->cwnd;
	cubic_of(cc)->w_max = 0;
	cubic_of(cc)->epoch_us = 0;
	cc->ssthresh = reduced_window(cc, flight);
	cc->cwnd = TCP_CC_LOSS_SEGMENTS * cc->mss;
}

const struct tcp_cc_ops cc_cubic_ops = {
	.name = "cubic",
	.on_ack = cubic_on_ack,
	.on_loss = cubic_on_loss,
	.on_timeout = cubic_on_timeout,
};

/*
 * TIMELY, Mittal et al., "TIMELY: RTT-based Congestion Control for the
 * Datacenter", SIGCOMM 2015, Algorithm 1, once per new RTT sample:
 *   new_rtt_diff = rtt - prev_rtt
 *   rtt_diff     = (1 - a) * rtt_diff + a * new_rtt_diff,  a = 1/8
 *   gradient     = rtt_diff / min_rtt
 *   rtt < T_low:      rate += delta
 *   rtt > T_high:     rate *= 1 - beta * (1 - T_high / rtt)
 *   gradient <= 0:    rate += N * delta, N = 5 from the fifth
 *                     non-positive gradient in a row on (HAI), else 1
 *   gradient > 0:     rate *= 1 - beta * min(gradient, 1)
 * with beta = 0.8, delta = cfg->timely_add_step, T_low and T_high from
 * the configuration.  The paper leaves the weight a as a parameter,
 * applied per completion event; one sample here stands for a whole
 * control interval of them, so it weighs more.  The gradient
 * is capped at 1 (the RTT rising by a whole min_rtt per sample) so that
 * one update keeps at least 1 - beta = 20 % of the rate.  Loss and
 * timeouts halve the rate: TIMELY itself reads only RTTs, but a lost
 * packet still says the rate was too high.  Fixed point, 1024 = 1.
 */
#include <stdbool.h>

#include "cc_ops.h"
#include "cc_rate.h"

#define ONE 1024
#define EWMA_KEEP 7           /* a = 1/8: keep 7/8 of the old average */
#define EWMA_DEN 8
#define BETA_NUM 4            /* beta = 4/5 */
#define BETA_DEN 5
#define HAI_AFTER 5u          /* non-positive gradients in a row */
#define HAI_STEPS 5u          /* N in hyperactive increase */

#define timely_of(cc) (&(cc)->state.timely)

static void timely_init(struct tcp_cc *cc, const struct tcp_cc_config *cfg)
{
	(void)cfg;
	cc_rate_set(cc, cc_rate_initial(cc));
}

/* rate * (1 - beta * reduction / ONE), reduction in [0, ONE]. */
static uint64_t decrease(uint64_t rate, int64_t reduction)
{
	int64_t keep = ONE - reduction * BETA_NUM / BETA_DEN;

	return rate * (uint64_t)keep / ONE;
}

/* A sample is new unless it repeats the last RTT with nothing acked
 * since (the fast path's RTT is smoothed and persists between ACKs), and
 * comes at most once per min_rtt. */
static bool new_sample(const struct tcp_cc *cc,
		       const struct tcp_cc_sample *sample)
{
	if (sample->rtt_us == 0)
		return false;
	if (timely_of(cc)->prev_rtt_us == 0)
		return true;
	if (sample->acked_bytes == 0 &&
	    sample->rtt_us == timely_of(cc)->prev_rtt_us)
		return false;
	return sample->now_us >=
	       timely_of(cc)->last_update_us + cc->min_rtt_us;
}

/* The EWMA of RTT differences.  C's division truncates towards 0, so a
 * flat RTT brings the average, and the gradient, back to exactly 0. */
static void update_rtt_diff(struct tcp_cc *cc, uint32_t rtt_us)
{
	int64_t diff = 0;

	if (timely_of(cc)->prev_rtt_us != 0)
		diff = (int64_t)rtt_us - timely_of(cc)->prev_rtt_us;
	if (diff > INT32_MAX)
		diff = INT32_MAX;
	if (diff < INT32_MIN)
		diff = INT32_MIN;
	timely_of(cc)->prev_rtt_us = rtt_us;
	timely_of(cc)->rtt_diff_us = (int32_t)(
		((int64_t)timely_of(cc)->rtt_diff_us * EWMA_KEEP + diff) /
		EWMA_DEN);
	if (timely_of(cc)->rtt_diff_us > 0)
		timely_of(cc)->hai_count = 0;
	else if (timely_of(cc)->hai_count < UINT32_MAX)
		timely_of(cc)->hai_count++;
}

static void timely_on_ack(struct tcp_cc *cc, const struct tcp_cc_config *cfg,
			  const struct tcp_cc_sample *sample)
{
	uint32_t rtt = sample->rtt_us;
	int64_t rtt_diff;
	uint64_t rate = cc->rate;

	if (!new_sample(cc, sample))
		return;
	update_rtt_diff(cc, rtt);
	timely_of(cc)->last_update_us = sample->now_us;
	rtt_diff = timely_of(cc)->rtt_diff_us;

	if (rtt < cfg->timely_t_low_us) {
		rate = cc_rate_add(rate, cfg->timely_add_step, 1, 1);
	} else if (rtt > cfg->timely_t_high_us) {
		rate = decrease(rate, (int64_t)ONE *
					      (rtt - cfg->timely_t_high_us) / rtt);
	} else if (rtt_diff <= 0) {
		uint32_t steps = timely_of(cc)->hai_count >= HAI_AFTER ?
					 HAI_STEPS : 1;

		rate = cc_rate_add(rate, cfg->timely_add_step, steps, 1);
	} else {
		/* min_rtt_us is set: this sample's RTT is not 0. */
		int64_t gradient = rtt_diff * ONE / cc->min_rtt_us;

		rate = decrease(rate, gradient < ONE ? gradient : ONE);
	}
	cc_rate_set(cc, rate);
}

static void timely_on_congestion(struct tcp_cc *cc,
				 const struct tcp_cc_config *cfg,
				 uint32_t flight, uint64_t now_us)
{
	(void)cfg;
	(void)flight;
	(void)now_us;
	cc_rate_set(cc, cc->rate / 2);
	timely_of(cc)->hai_count = 0;
}

const struct tcp_cc_ops cc_timely_ops = {
	.name = "timely",
	.init = timely_init,
	.on_ack = timely_on_ack,
	.on_loss = timely_on_congestion,
	.on_timeout = timely_on_congestion,
};

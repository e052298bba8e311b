/*
 * Unit tests for TIMELY (slowpath/cc_timely.c; Mittal et al., SIGCOMM
 * 2015) on the shared sequences: additive increase below T_low,
 * multiplicative decrease above T_high and on a positive RTT gradient,
 * hyperactive increase after five non-positive gradients, and the
 * reactions to loss and timeouts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cc_rate.h"
#include "tcp_cc.h"
#include "test_sp_cc_sequences.h"

#define MSS CC_TEST_MSS
#define STEP 1250000u  /* the default timely_add_step, 10 Mbit/s */
#define T_HIGH 500u

/* rate * (1 - 0.8 * reduction / 1024) as 10-bit fixed point */
static uint64_t decreased(uint64_t rate, int64_t reduction)
{
	return rate * (uint64_t)(1024 - reduction * 4 / 5) / 1024;
}

/* The rule of Algorithm 1 for one sample, from the state before it. */
static void assert_update(const struct cc_point *p, const struct tcp_cc *before)
{
	const struct tcp_cc *cc = &p->cc;
	int32_t rtt_diff = cc->state.timely.rtt_diff_us;
	/* the first sample has nothing to differ from */
	int64_t new_diff = before->state.timely.prev_rtt_us == 0 ? 0 :
			   (int64_t)p->rtt_us - before->state.timely.prev_rtt_us;
	uint64_t expected;

	/* rtt_diff = 7/8 rtt_diff + 1/8 new_rtt_diff */
	assert_int_equal(rtt_diff,
			 ((int64_t)before->state.timely.rtt_diff_us * 7 + new_diff) / 8);
	assert_int_equal(cc->state.timely.prev_rtt_us, p->rtt_us);
	if (p->rtt_us < 50) {
		expected = before->rate + STEP;
	} else if (p->rtt_us > T_HIGH) {
		expected = decreased(before->rate,
				     1024 * (int64_t)(p->rtt_us - T_HIGH) / p->rtt_us);
	} else if (rtt_diff <= 0) {
		expected = before->rate +
			   (cc->state.timely.hai_count >= 5 ? 5 : 1) * STEP;
	} else {
		int64_t gradient = (int64_t)rtt_diff * 1024 / cc->min_rtt_us;

		expected = decreased(before->rate, gradient < 1024 ? gradient : 1024);
		assert_true(expected < before->rate);
	}
	if (expected < CC_RATE_FLOOR)
		expected = CC_RATE_FLOOR;
	assert_int_equal(cc->rate, expected);
}

/* Below T_low: one step per sample. */
static void test_increase_below_t_low(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_TIMELY, &cc_seq_growth);

	for (size_t i = 1; i < t->count; i++)
		assert_int_equal(t->point[i].cc.rate, t->point[i - 1].cc.rate + STEP);
}

/* Every sample of the delay sequence follows Algorithm 1. */
static void test_algorithm_1(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_TIMELY, &cc_seq_rtt);

	for (size_t i = 1; i < t->count; i++)
		assert_update(&t->point[i], &t->point[i - 1].cc);
}

/* Rising delay between the thresholds: the rate falls with every sample. */
static void test_decrease_on_positive_gradient(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_TIMELY, &cc_seq_rtt);

	for (uint32_t i = 0; i < 8; i++) {
		size_t at = cc_at(&cc_seq_rtt, RTT_RISING, i);

		assert_true(t->point[at].cc.state.timely.rtt_diff_us > 0);
		assert_true(t->point[at].cc.rate < t->point[at - 1].cc.rate);
	}
}

/* Above T_high: rate * (1 - 0.8 (1 - 500/800)) = 0.7 rate per sample. */
static void test_decrease_above_t_high(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_TIMELY, &cc_seq_rtt);

	for (uint32_t i = 0; i < 3; i++) {
		size_t at = cc_at(&cc_seq_rtt, RTT_HIGH, i);

		assert_int_equal(t->point[at].cc.rate,
				 t->point[at - 1].cc.rate * 717 / 1024);
	}
	/* far above T_high for good: down to the floor, not to 0 */
	t = cc_run_default(TCP_CC_TIMELY, &cc_seq_long_rtt);
	assert_int_equal(t->point[t->count - 1].cc.rate, CC_RATE_FLOOR);
}

/* Falling, then flat delay: single steps for the first four
 * non-positive gradients in a row, five steps from the fifth on. */
static void test_hyperactive_increase(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_TIMELY, &cc_seq_rtt);
	size_t first = cc_at(&cc_seq_rtt, RTT_FALLING, 0);
	size_t run = 0, hai = 0;

	for (size_t i = first; i < t->count; i++) {
		const struct tcp_cc *cc = &t->point[i].cc;
		uint64_t gain = cc->rate - t->point[i - 1].cc.rate;

		if (cc->state.timely.rtt_diff_us > 0) {
			run = 0;
			continue;
		}
		run++;
		assert_int_equal(cc->state.timely.hai_count, run);
		assert_int_equal(gain, run >= 5 ? 5 * STEP : STEP);
		hai += run >= 5;
	}
	assert_true(hai >= 10);
}

/* TIMELY reads delay, not marks: a flat 400 us with marks only grows,
 * one update per min_rtt (every fourth interval here). */
static void test_marks_ignored(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_TIMELY, &cc_seq_marks);

	for (size_t i = 1; i < t->count; i++) {
		const struct cc_point *p = &t->point[i];
		const struct tcp_cc *before = &t->point[i - 1].cc;

		if (p->now_us - before->state.timely.last_update_us < 400) {
			assert_int_equal(p->cc.rate, before->rate);
		} else {
			assert_true(p->cc.rate > before->rate);
			assert_update(p, before);
		}
	}
}

/* Loss and timeout both halve the rate and end hyperactive increase. */
static void test_loss_and_timeout_halve(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_TIMELY, &cc_seq_loss);
	size_t at = cc_at(&cc_seq_loss, LOSS_EVENT, 0);

	assert_int_equal(t->point[at].cc.rate, t->point[at - 1].cc.rate / 2);
	assert_int_equal(t->point[at].cc.state.timely.hai_count, 0);
	t = cc_run_default(TCP_CC_TIMELY, &cc_seq_timeout);
	at = cc_at(&cc_seq_timeout, TIMEOUT_EVENT, 0);
	assert_int_equal(t->point[at].cc.rate, t->point[at - 1].cc.rate / 2);
	assert_int_equal(t->point[at].cc.state.timely.hai_count, 0);
}

/* No RTT, no update; the same RTT with nothing acked is no new sample. */
static void test_only_new_samples(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_TIMELY, &cc_seq_idle);
	size_t first = cc_at(&cc_seq_idle, IDLE_SAME_RTT, 0);

	for (size_t i = 1; i < first; i++)
		assert_int_equal(t->point[i].cc.rate, t->point[0].cc.rate);
	/* 50 us is not below T_low: a zero gradient, one step */
	assert_int_equal(t->point[first].cc.rate, t->point[0].cc.rate + STEP);
	for (size_t i = first + 1; i < t->count; i++)
		assert_int_equal(t->point[i].cc.rate, t->point[first].cc.rate);
}

/* At most one update per min_rtt, however often the slow path asks. */
static void test_once_per_min_rtt(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;
	struct tcp_cc cc;
	struct tcp_cc_sample sample = {
		.now_us = 1000, .acked_bytes = MSS, .rtt_us = 40,
	};
	uint64_t rate;

	tcp_cc_config_default(&cfg);
	tcp_cc_init(&cc, &cfg, TCP_CC_TIMELY, MSS, CC_TEST_MAX_CWND);
	tcp_cc_on_ack(&cc, &cfg, &sample);
	rate = cc.rate;
	sample.now_us += 39;
	tcp_cc_on_ack(&cc, &cfg, &sample);
	assert_int_equal(cc.rate, rate);
	sample.now_us += 1;
	tcp_cc_on_ack(&cc, &cfg, &sample);
	assert_int_equal(cc.rate, rate + STEP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_increase_below_t_low),
		cmocka_unit_test(test_algorithm_1),
		cmocka_unit_test(test_decrease_on_positive_gradient),
		cmocka_unit_test(test_decrease_above_t_high),
		cmocka_unit_test(test_hyperactive_increase),
		cmocka_unit_test(test_marks_ignored),
		cmocka_unit_test(test_loss_and_timeout_halve),
		cmocka_unit_test(test_only_new_samples),
		cmocka_unit_test(test_once_per_min_rtt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

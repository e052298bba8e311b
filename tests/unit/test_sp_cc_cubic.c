/*
 * Unit tests for CUBIC (slowpath/cc_cubic.c, RFC 9438) on the shared
 * sequences: slow start, the multiplicative decrease with beta_cubic =
 * 0.7, K, the concave and convex growth around W_max, fast convergence,
 * the Reno-friendly region at a small RTT, and the timeout of section 4.8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp_cc.h"
#include "test_sp_cc_sequences.h"

#define MSS CC_TEST_MSS
/* 1 / C: C * t^3 segments = t_ms^3 / 2.5e9 */
#define MS3_PER_SEGMENT 2500000000ull

static const struct tcp_cc *state_at(const struct cc_trace *t,
				     const struct cc_sequence *seq, size_t row,
				     uint32_t rep)
{
	return &t->point[cc_at(seq, row, rep)].cc;
}

/* K (in whole ms) solves C * K^3 = W_max - cwnd_epoch (in segments). */
static void assert_k_solves(uint32_t k_us, uint32_t deficit_bytes)
{
	uint64_t k_ms = k_us / 1000;
	uint64_t cube = (uint64_t)deficit_bytes * MS3_PER_SEGMENT / MSS;

	assert_int_equal(k_us % 1000, 0);
	assert_true(k_ms * k_ms * k_ms <= cube);
	assert_true((k_ms + 1) * (k_ms + 1) * (k_ms + 1) > cube);
}

static void test_slow_start(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_CUBIC, &cc_seq_growth);

	for (uint32_t i = 0; i < 12; i++)
		assert_int_equal(state_at(t, &cc_seq_growth, GROWTH_ACKS, i)->cwnd,
				 (10 * MSS) << (i + 1));
}

/* Section 4.6: W_max = cwnd, ssthresh = cwnd = 0.7 * flight. */
static void test_loss(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_CUBIC, &cc_seq_loss);
	const struct tcp_cc *after = state_at(t, &cc_seq_loss, LOSS_EVENT, 0);

	assert_int_equal(state_at(t, &cc_seq_loss, LOSS_GROW, 3)->cwnd, 160 * MSS);
	assert_int_equal(after->state.cubic.w_max, 160 * MSS);
	assert_int_equal(after->state.cubic.cwnd_prior, 160 * MSS);
	assert_int_equal(after->ssthresh, 112 * MSS);
	assert_int_equal(after->cwnd, 112 * MSS);
	assert_int_equal(after->state.cubic.epoch_us, 0);
}

/* Section 4.3 at an RTT of 40 us: in the first millisecond the cubic
 * curve has hardly left cwnd_epoch, while Reno's estimate grows by
 * alpha_cubic = 9/17 segments per RTT; cwnd follows W_est. */
static void test_reno_friendly_at_small_rtt(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_CUBIC, &cc_seq_loss);
	size_t first = cc_at(&cc_seq_loss, LOSS_AFTER, 0);

	/* The epoch starts at the first ACK after the reduction. */
	assert_int_equal(t->point[first].cc.state.cubic.epoch_us,
			 t->point[first].now_us);
	assert_k_solves(t->point[first].cc.state.cubic.k_us, 48 * MSS);
	for (uint32_t rtt = 0; rtt < 20; rtt++) {
		const struct tcp_cc *cc = state_at(t, &cc_seq_loss, LOSS_AFTER, rtt);

		assert_int_equal(cc->state.cubic.w_est,
				 112 * MSS + (rtt + 1) * (9 * MSS / 17));
		assert_int_equal(cc->cwnd, cc->state.cubic.w_est);
	}
}

/* Sections 4.4 and 4.5 at an RTT of 100 ms: from 112 segments, concave
 * growth back to W_max = 160 segments, a plateau around K =
 * cbrt(48 / 0.4) s = 4.932 s, then convex growth; each half of the way
 * from the curve's symmetry: K/2 brings 7/8 of the deficit, the
 * following K/2 the last 1/8, and mirrored after K. */
static void test_concave_then_convex(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_CUBIC, &cc_seq_long_rtt);
	size_t first = cc_at(&cc_seq_long_rtt, LONG_AFTER, 0);
	const struct tcp_cc *start = &t->point[first].cc;
	uint32_t k_us = start->state.cubic.k_us;
	/* intervals are 10 ms, and t = 0 at the first one */
	size_t k = first + k_us / 10000;
	size_t half = k_us / 20000;

	assert_int_equal(k_us, 4932000);
	assert_k_solves(k_us, 48 * MSS);
	assert_int_equal(start->state.cubic.w_max, 160 * MSS);

	uint32_t at_0 = start->cwnd;
	uint32_t at_half = t->point[k - half].cc.cwnd;
	uint32_t at_k = t->point[k].cc.cwnd;
	uint32_t at_3half = t->point[k + half].cc.cwnd;
	uint32_t at_2k = t->point[k + 2 * half].cc.cwnd;

	/* concave: most of the way in the first half */
	assert_true(at_half - at_0 > 4 * (at_k - at_half));
	/* at K, W_max again (within a segment), not before */
	assert_true(at_k >= 159 * MSS && at_k <= 161 * MSS);
	for (size_t i = first; i + 10 < k; i++)
		assert_true(t->point[i].cc.cwnd <= 160 * MSS);
	/* convex: most of the way in the second half */
	assert_true(at_2k - at_3half > 4 * (at_3half - at_k));
	/* about W_max + 48 segments at 2K */
	assert_true(at_2k >= 200 * MSS && at_2k <= 212 * MSS);
	for (size_t i = first + 1; i <= k + 2 * half; i++) {
		const struct tcp_cc *cc = &t->point[i].cc;

		assert_true(cc->cwnd >= t->point[i - 1].cc.cwnd);
		/* the curve, not Reno's estimate, sets the pace */
		assert_true(cc->cwnd > cc->state.cubic.w_est);
	}
}

/* Section 4.7: a loss below the last W_max remembers only
 * (1 + beta) / 2 of cwnd, and the window reaches that sooner. */
static void test_fast_convergence(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_CUBIC, &cc_seq_two_losses);
	const struct tcp_cc *before = state_at(t, &cc_seq_two_losses, TWO_BETWEEN, 99);
	const struct tcp_cc *after = state_at(t, &cc_seq_two_losses, TWO_LOSS2, 0);
	const struct tcp_cc *next = state_at(t, &cc_seq_two_losses, TWO_AFTER, 0);

	assert_int_equal(before->state.cubic.w_max, 160 * MSS);
	assert_true(before->cwnd < 160 * MSS);
	assert_int_equal(after->state.cubic.w_max,
			 (uint64_t)before->cwnd * 17 / 20);
	assert_int_equal(after->state.cubic.cwnd_prior, before->cwnd);
	assert_int_equal(after->ssthresh, (uint64_t)before->cwnd * 7 / 10);
	assert_int_equal(after->cwnd, after->ssthresh);
	assert_k_solves(next->state.cubic.k_us,
			after->state.cubic.w_max - after->cwnd);
	/* without fast convergence the deficit would be 0.3 * cwnd */
	assert_true(next->state.cubic.w_max - after->cwnd <
		    before->cwnd - after->cwnd);

	size_t k = cc_at(&cc_seq_two_losses, TWO_AFTER, 0) +
		   next->state.cubic.k_us / 10000;
	uint32_t at_k = t->point[k].cc.cwnd;

	assert_true(at_k + MSS >= next->state.cubic.w_max &&
		    at_k <= next->state.cubic.w_max + MSS);
}

/* Section 4.8: cwnd to one segment, ssthresh = 0.7 * flight, and the
 * first epoch after it runs from K = 0 and W_max = cwnd_epoch. */
static void test_timeout(void **state)
{
	(void)state;
	static const uint32_t slow_start[] = { 2, 4, 8, 16, 32, 64, 112 };
	const struct cc_trace *t = cc_run_default(TCP_CC_CUBIC, &cc_seq_timeout);
	const struct tcp_cc *after = state_at(t, &cc_seq_timeout, TIMEOUT_EVENT, 0);

	assert_int_equal(after->cwnd, TCP_CC_LOSS_SEGMENTS * MSS);
	assert_int_equal(after->ssthresh, 112 * MSS);
	assert_int_equal(after->state.cubic.epoch_us, 0);
	assert_int_equal(after->state.cubic.cwnd_prior, 160 * MSS);
	for (uint32_t i = 0; i < 7; i++)
		assert_int_equal(state_at(t, &cc_seq_timeout, TIMEOUT_AFTER, i)->cwnd,
				 slow_start[i] * MSS);

	const struct tcp_cc *epoch = state_at(t, &cc_seq_timeout, TIMEOUT_AFTER, 6);

	assert_int_not_equal(epoch->state.cubic.epoch_us, 0);
	assert_int_equal(epoch->state.cubic.k_us, 0);
	assert_int_equal(epoch->state.cubic.w_max, 112 * MSS);
	assert_int_equal(epoch->state.cubic.w_est, 112 * MSS);
	for (uint32_t i = 7; i < 12; i++)
		assert_true(state_at(t, &cc_seq_timeout, TIMEOUT_AFTER, i)->cwnd >
			    state_at(t, &cc_seq_timeout, TIMEOUT_AFTER, i - 1)->cwnd);
}

/* Marks are not CUBIC's signal here: the window only grows. */
static void test_marks_ignored(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_CUBIC, &cc_seq_marks);

	for (size_t i = 1; i < t->count; i++)
		assert_true(t->point[i].cc.cwnd >= t->point[i - 1].cc.cwnd);
}

static void test_clamps(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;
	struct tcp_cc cc;
	const struct cc_trace *t;

	tcp_cc_config_default(&cfg);
	/* the curve's growth stops at the send buffer too */
	t = cc_run(TCP_CC_CUBIC, &cfg, &cc_seq_long_rtt, MSS, 150 * MSS);
	assert_int_equal(t->point[t->count - 1].cc.cwnd, 150 * MSS);

	tcp_cc_init(&cc, &cfg, TCP_CC_CUBIC, MSS, CC_TEST_MAX_CWND);
	tcp_cc_on_loss(&cc, &cfg, MSS, 0);
	assert_int_equal(cc.ssthresh, 2 * MSS);
	assert_int_equal(cc.cwnd, 2 * MSS);
	tcp_cc_on_timeout(&cc, &cfg, 0, 0);
	assert_int_equal(cc.ssthresh, 2 * MSS);
	assert_int_equal(cc.cwnd, MSS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_start),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_reno_friendly_at_small_rtt),
		cmocka_unit_test(test_concave_then_convex),
		cmocka_unit_test(test_fast_convergence),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_marks_ignored),
		cmocka_unit_test(test_clamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

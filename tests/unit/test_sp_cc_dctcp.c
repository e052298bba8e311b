/*
 * Unit tests for DCTCP (RFC 8257) on the shared sequences, both the
 * window (slowpath/cc_dctcp.c) and the rate variant (cc_dctcp_rate.c),
 * which share the marked-fraction estimate alpha (cc_dctcp_alpha.c).
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
#define ALPHA_ONE 1024u
#define STEP 1250000u  /* the default timely_add_step, 10 Mbit/s */

static const struct tcp_cc *state_at(const struct cc_trace *t,
				     const struct cc_sequence *seq, size_t row,
				     uint32_t rep)
{
	return &t->point[cc_at(seq, row, rep)].cc;
}

/* value * (1 - alpha / 2) */
static uint64_t cut(uint64_t value, uint32_t alpha)
{
	return value - value * alpha / (2 * ALPHA_ONE);
}

static void test_initial_alpha(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;
	struct tcp_cc cc;

	tcp_cc_config_default(&cfg);
	tcp_cc_init(&cc, &cfg, TCP_CC_DCTCP, MSS, CC_TEST_MAX_CWND);
	assert_int_equal(cc.state.dctcp.alpha, ALPHA_ONE);
	assert_int_equal(cc.state.dctcp.window_bytes, 10 * MSS);
	tcp_cc_init(&cc, &cfg, TCP_CC_DCTCP_RATE, MSS, CC_TEST_MAX_CWND);
	assert_int_equal(cc.state.dctcp.alpha, ALPHA_ONE);
	assert_true(cc.state.dctcp.rate_slow_start);
}

/* Without marks DCTCP is Reno (RFC 8257 sections 3.4 and 3.5): the same
 * windows as newreno through growth, losses and timeouts. */
static void test_without_marks_as_newreno(void **state)
{
	(void)state;
	static const struct cc_sequence *const unmarked[] = {
		&cc_seq_growth, &cc_seq_loss, &cc_seq_timeout, &cc_seq_long_rtt,
		&cc_seq_two_losses, &cc_seq_idle, &cc_seq_rtt,
	};
	static uint32_t cwnd[CC_TRACE_MAX], ssthresh[CC_TRACE_MAX];

	for (size_t s = 0; s < sizeof(unmarked) / sizeof(unmarked[0]); s++) {
		const struct cc_trace *t = cc_run_default(TCP_CC_NEWRENO, unmarked[s]);
		size_t count = t->count;

		for (size_t i = 0; i < count; i++) {
			cwnd[i] = t->point[i].cc.cwnd;
			ssthresh[i] = t->point[i].cc.ssthresh;
		}
		t = cc_run_default(TCP_CC_DCTCP, unmarked[s]);
		assert_int_equal(t->count, count);
		for (size_t i = 0; i < count; i++) {
			assert_int_equal(t->point[i].cc.cwnd, cwnd[i]);
			assert_int_equal(t->point[i].cc.ssthresh, ssthresh[i]);
		}
	}
}

/* Each interval of the growth sequence acks exactly one observation
 * window without marks: alpha = (1 - 1/16) alpha, each time. */
static void test_alpha_decays_without_marks(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_DCTCP, &cc_seq_growth);

	for (size_t i = 1; i < t->count; i++)
		assert_int_equal(t->point[i].cc.state.dctcp.alpha,
				 t->point[i - 1].cc.state.dctcp.alpha * 15 / 16);
}

/* A quarter of the bytes marked: alpha converges to 0.25. */
static void test_alpha_converges_to_marked_fraction(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_DCTCP, &cc_seq_marks);
	uint32_t alpha = state_at(t, &cc_seq_marks, MARKS_ON, 399)->state.dctcp.alpha;

	assert_true(alpha >= ALPHA_ONE / 4 - 4 && alpha <= ALPHA_ONE / 4 + 4);

	/* g = 1 (shift 0): alpha is the fraction of each window itself. */
	struct tcp_cc_config cfg;
	size_t windows = 0;

	tcp_cc_config_default(&cfg);
	cfg.dctcp_g_shift = 0;
	t = cc_run(TCP_CC_DCTCP, &cfg, &cc_seq_marks, MSS, CC_TEST_MAX_CWND);
	for (size_t i = 1; i < t->count; i++) {
		const struct cc_point *p = &t->point[i];
		const struct tcp_cc *before = &t->point[i - 1].cc;
		uint64_t acked = before->state.dctcp.window_acked + p->acked;
		uint64_t marked = before->state.dctcp.window_marked + p->ecn;

		if (acked < before->state.dctcp.window_bytes)
			continue;
		assert_int_equal(p->cc.state.dctcp.alpha,
				 marked * ALPHA_ONE / acked);
		windows++;
	}
	assert_true(windows > 100);
}

/* Under marks: cwnd = cwnd * (1 - alpha / 2) and ssthresh = cwnd, once
 * per RTT (400 us, four intervals), the window held in between. */
static void test_cut_once_per_rtt(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_DCTCP, &cc_seq_marks);
	size_t first = cc_at(&cc_seq_marks, MARKS_ON, 0);
	size_t cuts = 0;
	uint64_t last_cut_us = 0;

	/* the first marks halve (alpha = 1) */
	assert_int_equal(t->point[first].cc.cwnd, 5 * MSS);
	for (size_t i = first; i <= cc_row_last(&cc_seq_marks, MARKS_ON); i++) {
		const struct cc_point *p = &t->point[i];
		const struct tcp_cc *before = &t->point[i - 1].cc;

		if (p->cc.recovery_until_us == before->recovery_until_us) {
			assert_int_equal(p->cc.cwnd, before->cwnd);
			continue;
		}
		uint64_t expected = cut(before->cwnd, p->cc.state.dctcp.alpha);

		if (expected < 2 * MSS)
			expected = 2 * MSS;
		assert_int_equal(p->cc.cwnd, expected);
		assert_int_equal(p->cc.ssthresh, p->cc.cwnd);
		assert_int_equal(p->cc.recovery_until_us, p->now_us + 400);
		if (cuts++ > 0)
			assert_int_equal(p->now_us - last_cut_us, 400);
		last_cut_us = p->now_us;
	}
	assert_int_equal(cuts, 100);
}

/* After a clean stretch alpha is well below 1: one marked interval cuts
 * by alpha / 2 only, and without further marks the window grows again
 * in congestion avoidance. */
static void test_cut_by_half_alpha(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_DCTCP, &cc_seq_late_marks);
	const struct tcp_cc *before = state_at(t, &cc_seq_late_marks, LATE_CLEAN, 11);
	const struct tcp_cc *after = state_at(t, &cc_seq_late_marks, LATE_MARKED, 0);

	assert_true(after->state.dctcp.alpha < ALPHA_ONE / 2);
	assert_int_equal(after->cwnd, cut(before->cwnd, after->state.dctcp.alpha));
	assert_int_equal(after->ssthresh, after->cwnd);
	for (uint32_t rtt = 0; rtt < 4; rtt++)
		assert_int_equal(state_at(t, &cc_seq_late_marks, LATE_AFTER, rtt)->cwnd,
				 after->cwnd + (rtt + 1) * MSS);
}

/* When the marks stop, no more cuts: the window only grows. */
static void test_no_cut_without_marks(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_DCTCP, &cc_seq_marks);
	size_t first = cc_at(&cc_seq_marks, MARKS_OFF, 0);
	uint64_t last_cut = t->point[first - 1].cc.recovery_until_us;

	for (size_t i = first; i < t->count; i++) {
		assert_int_equal(t->point[i].cc.recovery_until_us, last_cut);
		assert_true(t->point[i].cc.cwnd >= t->point[i - 1].cc.cwnd);
	}
	assert_true(t->point[t->count - 1].cc.cwnd > t->point[first - 1].cc.cwnd);
}

/* dctcp-rate: until the first congestion, the rate doubles per RTT of
 * acked bytes (up to the 1 Tbit/s ceiling). */
static void test_rate_slow_start(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_DCTCP_RATE, &cc_seq_growth);

	for (size_t i = 1; i < t->count; i++) {
		uint64_t doubled = 2 * t->point[i - 1].cc.rate;

		assert_int_equal(t->point[i].cc.rate, doubled < CC_RATE_CEILING ?
							      doubled : CC_RATE_CEILING);
		assert_true(t->point[i].cc.state.dctcp.rate_slow_start);
	}
}

/* dctcp-rate under marks: rate * (1 - alpha / 2) once per RTT, held in
 * between, down to the floor. */
static void test_rate_shrinks_under_marks(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_DCTCP_RATE, &cc_seq_marks);
	size_t first = cc_at(&cc_seq_marks, MARKS_ON, 0);
	size_t last = cc_row_last(&cc_seq_marks, MARKS_ON);

	assert_int_equal(t->point[first].cc.rate, t->point[0].cc.rate / 2);
	assert_false(t->point[first].cc.state.dctcp.rate_slow_start);
	for (size_t i = first + 1; i <= last; i++) {
		const struct cc_point *p = &t->point[i];
		const struct tcp_cc *before = &t->point[i - 1].cc;
		uint64_t expected = before->rate;

		if (p->cc.recovery_until_us != before->recovery_until_us) {
			assert_true(p->now_us >= before->recovery_until_us);
			expected = cut(before->rate, p->cc.state.dctcp.alpha);
			if (expected < CC_RATE_FLOOR)
				expected = CC_RATE_FLOOR;
		}
		assert_int_equal(p->cc.rate, expected);
	}
	assert_int_equal(t->point[last].cc.rate, CC_RATE_FLOOR);

	/* when the marks stop, additive increase: at most a step per RTT */
	for (size_t i = last + 1; i < t->count; i++) {
		assert_true(t->point[i].cc.rate > t->point[i - 1].cc.rate);
		assert_true(t->point[i].cc.rate <= t->point[i - 1].cc.rate + STEP);
	}
}

static void test_rate_cut_by_half_alpha(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_DCTCP_RATE, &cc_seq_late_marks);
	const struct tcp_cc *before = state_at(t, &cc_seq_late_marks, LATE_CLEAN, 11);
	const struct tcp_cc *after = state_at(t, &cc_seq_late_marks, LATE_MARKED, 0);

	assert_true(after->state.dctcp.alpha < ALPHA_ONE / 2);
	assert_int_equal(after->rate, cut(before->rate, after->state.dctcp.alpha));
}

/* dctcp-rate: a loss halves the rate and ends slow start; then a step
 * per RTT (here one interval acks one RTT at the rate). */
static void test_rate_loss(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_DCTCP_RATE, &cc_seq_loss);
	const struct tcp_cc *before = state_at(t, &cc_seq_loss, LOSS_GROW, 3);
	const struct tcp_cc *after = state_at(t, &cc_seq_loss, LOSS_EVENT, 0);

	assert_int_equal(after->rate, before->rate / 2);
	assert_false(after->state.dctcp.rate_slow_start);
	for (uint32_t rtt = 0; rtt < 20; rtt++)
		assert_int_equal(state_at(t, &cc_seq_loss, LOSS_AFTER, rtt)->rate,
				 after->rate + (rtt + 1) * (uint64_t)STEP);
}

/* dctcp-rate: a timeout starts over from the initial rate, in slow start. */
static void test_rate_timeout(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_DCTCP_RATE, &cc_seq_timeout);
	const struct tcp_cc *after = state_at(t, &cc_seq_timeout, TIMEOUT_EVENT, 0);

	assert_int_equal(after->rate, t->point[0].cc.rate);
	assert_true(after->state.dctcp.rate_slow_start);
	assert_int_equal(state_at(t, &cc_seq_timeout, TIMEOUT_AFTER, 0)->rate,
			 2 * after->rate);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_alpha),
		cmocka_unit_test(test_without_marks_as_newreno),
		cmocka_unit_test(test_alpha_decays_without_marks),
		cmocka_unit_test(test_alpha_converges_to_marked_fraction),
		cmocka_unit_test(test_cut_once_per_rtt),
		cmocka_unit_test(test_cut_by_half_alpha),
		cmocka_unit_test(test_no_cut_without_marks),
		cmocka_unit_test(test_rate_slow_start),
		cmocka_unit_test(test_rate_shrinks_under_marks),
		cmocka_unit_test(test_rate_cut_by_half_alpha),
		cmocka_unit_test(test_rate_loss),
		cmocka_unit_test(test_rate_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

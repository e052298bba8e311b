/*
 * Unit tests for NewReno (slowpath/cc_newreno.c): RFC 5681 slow start
 * and congestion avoidance with RFC 3465 byte counting, RFC 5681 /
 * RFC 6582 reactions to loss and timeouts, on the shared sequences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp_cc.h"
#include "test_sp_cc_sequences.h"

#define MSS CC_TEST_MSS

static const struct tcp_cc *state_at(const struct cc_trace *t,
				     const struct cc_sequence *seq, size_t row,
				     uint32_t rep)
{
	return &t->point[cc_at(seq, row, rep)].cc;
}

/* A window's worth of ACKs per RTT doubles the window. */
static void test_slow_start(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_NEWRENO, &cc_seq_growth);

	for (uint32_t i = 0; i < 12; i++) {
		const struct tcp_cc *cc = state_at(t, &cc_seq_growth, GROWTH_ACKS, i);

		assert_int_equal(cc->cwnd, (10 * MSS) << (i + 1));
		assert_int_equal(cc->ssthresh, UINT32_MAX);
		assert_int_equal(cc->rate, 0);
	}
}

/* Fast retransmit: ssthresh = cwnd = flight / 2; then one MSS per RTT. */
static void test_loss_then_one_mss_per_rtt(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_NEWRENO, &cc_seq_loss);
	const struct tcp_cc *before = state_at(t, &cc_seq_loss, LOSS_GROW, 3);
	const struct tcp_cc *after = state_at(t, &cc_seq_loss, LOSS_EVENT, 0);

	assert_int_equal(before->cwnd, 160 * MSS);
	assert_int_equal(after->ssthresh, 80 * MSS);
	assert_int_equal(after->cwnd, 80 * MSS);
	for (uint32_t rtt = 0; rtt < 20; rtt++)
		assert_int_equal(state_at(t, &cc_seq_loss, LOSS_AFTER, rtt)->cwnd,
				 (81 + rtt) * MSS);
}

/* RFC 5681 section 3.1: ssthresh = flight / 2, cwnd = 1 segment; slow
 * start to ssthresh, where the rest of that interval's ACKs count
 * towards congestion avoidance. */
static void test_timeout_and_ssthresh_crossing(void **state)
{
	(void)state;
	static const uint32_t segments[] = { 2, 4, 8, 16, 32, 64, 80, 81, 82,
					     83, 84, 85 };
	const struct cc_trace *t = cc_run_default(TCP_CC_NEWRENO, &cc_seq_timeout);
	const struct tcp_cc *after = state_at(t, &cc_seq_timeout, TIMEOUT_EVENT, 0);

	assert_int_equal(after->cwnd, TCP_CC_LOSS_SEGMENTS * MSS);
	assert_int_equal(after->ssthresh, 80 * MSS);
	for (uint32_t i = 0; i < 12; i++)
		assert_int_equal(state_at(t, &cc_seq_timeout, TIMEOUT_AFTER, i)->cwnd,
				 segments[i] * MSS);
	/* 64 segments acked at 64: 16 fill up to ssthresh, 48 are credit. */
	assert_int_equal(state_at(t, &cc_seq_timeout, TIMEOUT_AFTER, 6)->ca_acked,
			 48 * MSS);
}

/* Intervals of a tenth of an RTT: the byte count carries across them and
 * the window still grows by exactly one MSS per RTT. */
static void test_byte_counting_across_intervals(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_NEWRENO, &cc_seq_long_rtt);

	assert_int_equal(state_at(t, &cc_seq_long_rtt, LONG_LOSS, 0)->cwnd,
			 80 * MSS);
	for (uint32_t rtt = 1; rtt <= 100; rtt++) {
		assert_int_equal(state_at(t, &cc_seq_long_rtt, LONG_AFTER,
					  10 * rtt - 2)->cwnd,
				 (80 + rtt - 1) * MSS);
		assert_int_equal(state_at(t, &cc_seq_long_rtt, LONG_AFTER,
					  10 * rtt - 1)->cwnd,
				 (80 + rtt) * MSS);
	}
}

/* NewReno does not negotiate ECN here: marks change nothing. */
static void test_marks_ignored(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_NEWRENO, &cc_seq_marks);

	for (size_t i = 1; i < t->count; i++)
		assert_true(t->point[i].cc.cwnd >= t->point[i - 1].cc.cwnd);
	assert_int_equal(t->point[t->count - 1].cc.cwnd, CC_TEST_MAX_CWND);
}

/* Nothing acked, nothing changes. */
static void test_idle(void **state)
{
	(void)state;
	const struct cc_trace *t = cc_run_default(TCP_CC_NEWRENO, &cc_seq_idle);

	for (size_t i = 1; i < t->count; i++) {
		assert_int_equal(t->point[i].cc.cwnd, 10 * MSS);
		assert_int_equal(t->point[i].cc.ssthresh, UINT32_MAX);
	}
}

/* The send buffer caps growth; reductions stop at 2 segments, timeouts
 * at 1. */
static void test_clamps(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;
	struct tcp_cc cc;
	const struct cc_trace *t;

	tcp_cc_config_default(&cfg);
	t = cc_run(TCP_CC_NEWRENO, &cfg, &cc_seq_growth, MSS, 50 * MSS);
	assert_int_equal(t->point[t->count - 1].cc.cwnd, 50 * MSS);

	tcp_cc_init(&cc, &cfg, TCP_CC_NEWRENO, MSS, CC_TEST_MAX_CWND);
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
		cmocka_unit_test(test_loss_then_one_mss_per_rtt),
		cmocka_unit_test(test_timeout_and_ssthresh_crossing),
		cmocka_unit_test(test_byte_counting_across_intervals),
		cmocka_unit_test(test_marks_ignored),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_clamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

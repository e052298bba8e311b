/*
 * Unit tests for the congestion control front end (tcp_cc.h): defaults,
 * names, initial state, the MSS and window bounds, and every algorithm
 * driven through every synthetic sequence (test_sp_cc_sequences.c
 * checks the bounds after each interval).  The algorithms' own
 * responses are in test_sp_cc_<algorithm>.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cc_rate.h"
#include "tcp_cc.h"
#include "test_sp_cc_sequences.h"

#define MSS CC_TEST_MSS

static const char *const names[TCP_CC_COUNT] = {
	[TCP_CC_NEWRENO] = "newreno",
	[TCP_CC_CUBIC] = "cubic",
	[TCP_CC_DCTCP] = "dctcp",
	[TCP_CC_DCTCP_RATE] = "dctcp-rate",
	[TCP_CC_TIMELY] = "timely",
	[TCP_CC_CONST_RATE] = "const-rate",
};

static void test_config_default(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;

	tcp_cc_config_default(&cfg);
	assert_int_equal(cfg.algorithm, TCP_CC_NEWRENO);
	assert_int_equal(cfg.const_rate, 125000000);      /* 1 Gbit/s */
	assert_int_equal(cfg.timely_t_low_us, 50);
	assert_int_equal(cfg.timely_t_high_us, 500);
	assert_int_equal(cfg.timely_add_step, 1250000);   /* 10 Mbit/s */
	assert_int_equal(cfg.dctcp_g_shift, 4);
}

static void test_parse_name_round_trip(void **state)
{
	(void)state;
	enum tcp_cc_algorithm parsed;

	for (int a = 0; a < TCP_CC_COUNT; a++) {
		assert_string_equal(tcp_cc_name((enum tcp_cc_algorithm)a),
				    names[a]);
		parsed = TCP_CC_COUNT;
		assert_int_equal(tcp_cc_parse(names[a], &parsed), 0);
		assert_int_equal(parsed, a);
	}
}

static void test_parse_unknown(void **state)
{
	(void)state;
	static const char *const unknown[] = {
		"", "reno", "CUBIC", "dctcp ", "dctcp_rate", "timely-", "const",
	};
	enum tcp_cc_algorithm parsed = TCP_CC_CUBIC;

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_int_equal(tcp_cc_parse(unknown[i], &parsed), -EINVAL);
	assert_int_equal(tcp_cc_parse(NULL, &parsed), -EINVAL);
	/* A failed parse leaves the previous choice alone. */
	assert_int_equal(parsed, TCP_CC_CUBIC);
	assert_string_equal(tcp_cc_name(TCP_CC_COUNT), "unknown");
}

/* RFC 6928 initial window, ssthresh unlimited; the rate-based algorithms
 * send the initial window per 100 us, or the configured rate. */
static void test_initial_state(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;
	struct tcp_cc cc;

	tcp_cc_config_default(&cfg);
	for (int a = 0; a < TCP_CC_COUNT; a++) {
		tcp_cc_init(&cc, &cfg, (enum tcp_cc_algorithm)a, MSS,
			    CC_TEST_MAX_CWND);
		assert_int_equal(cc.algorithm, a);
		assert_int_equal(cc.mss, MSS);
		assert_int_equal(cc.ssthresh, UINT32_MAX);
		assert_int_equal(cc.max_cwnd, CC_TEST_MAX_CWND);
		assert_int_equal(cc.min_rtt_us, 0);
		switch (a) {
		case TCP_CC_DCTCP_RATE:
		case TCP_CC_TIMELY:
			assert_int_equal(cc.rate, 10 * MSS * 10000ull);
			/* two 100 us round trips at that rate */
			assert_int_equal(cc.cwnd, 20 * MSS);
			break;
		case TCP_CC_CONST_RATE:
			assert_int_equal(cc.rate, cfg.const_rate);
			assert_int_equal(cc.cwnd, CC_TEST_MAX_CWND);
			break;
		default:
			assert_int_equal(cc.rate, 0);
			assert_int_equal(cc.cwnd, TCP_CC_INITIAL_SEGMENTS * MSS);
		}
	}
}

/* The window never exceeds what the send buffer holds, and max_cwnd is
 * never below the floor of reductions. */
static void test_small_send_buffer(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;
	struct tcp_cc cc;

	tcp_cc_config_default(&cfg);
	for (int a = 0; a < TCP_CC_COUNT; a++) {
		tcp_cc_init(&cc, &cfg, (enum tcp_cc_algorithm)a, MSS, 4 * MSS);
		assert_int_equal(cc.cwnd, 4 * MSS);
		tcp_cc_init(&cc, &cfg, (enum tcp_cc_algorithm)a, MSS, 0);
		assert_int_equal(cc.max_cwnd, TCP_CC_MIN_SEGMENTS * MSS);
		assert_int_equal(cc.cwnd, TCP_CC_MIN_SEGMENTS * MSS);
	}
}

/* An MSS of 0 (unknown) is RFC 9293's default 536; above 16 bits, 65535. */
static void test_mss_bounds(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;
	struct tcp_cc cc;

	tcp_cc_config_default(&cfg);
	tcp_cc_init(&cc, &cfg, TCP_CC_NEWRENO, 0, CC_TEST_MAX_CWND);
	assert_int_equal(cc.mss, 536);
	assert_int_equal(cc.cwnd, 5360);
	tcp_cc_init(&cc, &cfg, TCP_CC_CUBIC, UINT32_MAX, UINT32_MAX);
	assert_int_equal(cc.mss, 65535);
	assert_int_equal(cc.cwnd, 655350);
}

static void test_unknown_algorithm_is_newreno(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;
	struct tcp_cc cc;

	tcp_cc_config_default(&cfg);
	tcp_cc_init(&cc, &cfg, TCP_CC_COUNT, MSS, CC_TEST_MAX_CWND);
	assert_int_equal(cc.algorithm, TCP_CC_NEWRENO);
}

/* Every algorithm through every sequence, with send buffers from none to
 * large and MSSs from unknown to the largest: the driver asserts after
 * every interval that cwnd stays in [floor, max_cwnd] (1 segment only
 * after a timeout), ssthresh at or above the floor, windows unpaced and
 * rates within [1 Mbit/s, 1 Tbit/s]. */
static void test_bounds_everywhere(void **state)
{
	(void)state;
	static const uint32_t max_cwnds[] = { CC_TEST_MAX_CWND, 20 * MSS, 0,
					      UINT32_MAX };
	static const uint32_t msss[] = { MSS, 0, 1, 65535 };
	struct tcp_cc_config cfg;

	tcp_cc_config_default(&cfg);
	for (int a = 0; a < TCP_CC_COUNT; a++)
		for (size_t s = 0; s < cc_sequence_count; s++)
			for (size_t m = 0; m < 4; m++)
				for (size_t w = 0; w < 4; w++)
					cc_run((enum tcp_cc_algorithm)a, &cfg,
					       cc_sequences[s], msss[m],
					       max_cwnds[w]);
}

/* Configurations at their extremes: no undefined shifts, no overflow. */
static void test_extreme_configuration(void **state)
{
	(void)state;
	static const uint8_t g_shifts[] = { 0, 10, 11, 63, 255 };
	struct tcp_cc_config cfg;

	for (size_t g = 0; g < sizeof(g_shifts); g++) {
		tcp_cc_config_default(&cfg);
		cfg.dctcp_g_shift = g_shifts[g];
		cfg.timely_add_step = UINT64_MAX;
		cfg.const_rate = UINT64_MAX;
		cfg.timely_t_low_us = UINT32_MAX;
		cfg.timely_t_high_us = 0;
		for (int a = 0; a < TCP_CC_COUNT; a++)
			for (size_t s = 0; s < cc_sequence_count; s++)
				cc_run((enum tcp_cc_algorithm)a, &cfg,
				       cc_sequences[s], MSS, CC_TEST_MAX_CWND);
	}
	tcp_cc_config_default(&cfg);
	cfg.timely_add_step = 0;
	cfg.timely_t_low_us = 0;
	cfg.timely_t_high_us = UINT32_MAX;
	for (int a = 0; a < TCP_CC_COUNT; a++)
		for (size_t s = 0; s < cc_sequence_count; s++)
			cc_run((enum tcp_cc_algorithm)a, &cfg, cc_sequences[s],
			       MSS, CC_TEST_MAX_CWND);
}

/* The minimum RTT is shared bookkeeping: the lowest non-zero sample. */
static void test_min_rtt(void **state)
{
	(void)state;
	for (int a = 0; a < TCP_CC_COUNT; a++) {
		const struct cc_trace *t =
			cc_run_default((enum tcp_cc_algorithm)a, &cc_seq_rtt);

		assert_int_equal(t->point[t->count - 1].cc.min_rtt_us, 40);
		t = cc_run_default((enum tcp_cc_algorithm)a, &cc_seq_idle);
		assert_int_equal(t->point[cc_row_last(&cc_seq_idle, IDLE_NO_RTT)]
					 .cc.min_rtt_us, 0);
		assert_int_equal(t->point[t->count - 1].cc.min_rtt_us, 50);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_default),
		cmocka_unit_test(test_parse_name_round_trip),
		cmocka_unit_test(test_parse_unknown),
		cmocka_unit_test(test_initial_state),
		cmocka_unit_test(test_small_send_buffer),
		cmocka_unit_test(test_mss_bounds),
		cmocka_unit_test(test_unknown_algorithm_is_newreno),
		cmocka_unit_test(test_bounds_everywhere),
		cmocka_unit_test(test_extreme_configuration),
		cmocka_unit_test(test_min_rtt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

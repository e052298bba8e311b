/*
 * Unit tests for const-rate (slowpath/cc_const_rate.c): the configured
 * rate and a window of max_cwnd, whatever happens.
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

/* ACKs, marks, delay, losses and timeouts: nothing moves. */
static void test_unchanged_by_everything(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;

	tcp_cc_config_default(&cfg);
	for (size_t s = 0; s < cc_sequence_count; s++) {
		const struct cc_trace *t = cc_run(TCP_CC_CONST_RATE, &cfg,
						  cc_sequences[s], MSS,
						  CC_TEST_MAX_CWND);

		for (size_t i = 0; i < t->count; i++) {
			assert_int_equal(t->point[i].cc.rate, 125000000);
			assert_int_equal(t->point[i].cc.cwnd, CC_TEST_MAX_CWND);
		}
	}
}

/* The rate is the configuration's, within the bounds of every rate, and
 * a changed configuration applies at the next interval. */
static void test_configured_rate(void **state)
{
	(void)state;
	struct tcp_cc_config cfg;
	struct tcp_cc cc;
	const struct tcp_cc_sample sample = { .now_us = 1000, .rtt_us = 10 };

	tcp_cc_config_default(&cfg);
	cfg.const_rate = 0;
	tcp_cc_init(&cc, &cfg, TCP_CC_CONST_RATE, MSS, CC_TEST_MAX_CWND);
	assert_int_equal(cc.rate, CC_RATE_FLOOR);
	cfg.const_rate = UINT64_MAX;
	tcp_cc_on_ack(&cc, &cfg, &sample);
	assert_int_equal(cc.rate, CC_RATE_CEILING);
	cfg.const_rate = 1250000000;  /* 10 Gbit/s */
	tcp_cc_on_loss(&cc, &cfg, 100 * MSS, 2000);
	assert_int_equal(cc.rate, 1250000000);
	tcp_cc_on_timeout(&cc, &cfg, 100 * MSS, 3000);
	assert_int_equal(cc.rate, 1250000000);
	assert_int_equal(cc.cwnd, CC_TEST_MAX_CWND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged_by_everything),
		cmocka_unit_test(test_configured_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

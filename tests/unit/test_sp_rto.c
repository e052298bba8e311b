/*
 * Unit tests for the RFC 6298 retransmission timeout (with the 200 ms
 * floor and 60 s ceiling the slow path uses).  Congestion control has
 * its own tests, test_sp_cc*.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp_rto.h"

#define MS 1000u

/* (2.1) Until a measurement is made, RTO = 1 s. */
static void test_initial_rto(void **state)
{
	(void)state;
	struct tcp_rto rto;

	tcp_rto_init(&rto);
	assert_false(rto.has_sample);
	assert_int_equal(rto.rto_us, 1000 * MS);
}

/* (2.2) First measurement R: SRTT = R, RTTVAR = R/2,
 * RTO = SRTT + max(G, 4*RTTVAR). */
static void test_first_sample(void **state)
{
	(void)state;
	struct tcp_rto rto;

	tcp_rto_init(&rto);
	tcp_rto_sample(&rto, 100 * MS);
	assert_int_equal(rto.srtt_us, 100 * MS);
	assert_int_equal(rto.rttvar_us, 50 * MS);
	assert_int_equal(rto.rto_us, 300 * MS);
}

/* (2.3) RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'| with the old SRTT, then
 * SRTT = 7/8 SRTT + 1/8 R'. */
static void test_second_sample(void **state)
{
	(void)state;
	struct tcp_rto rto;

	tcp_rto_init(&rto);
	tcp_rto_sample(&rto, 100 * MS);
	tcp_rto_sample(&rto, 200 * MS);
	assert_int_equal(rto.rttvar_us, 62500);  /* 37.5 ms + 25 ms */
	assert_int_equal(rto.srtt_us, 112500);   /* 87.5 ms + 25 ms */
	assert_int_equal(rto.rto_us, 112500 + 4 * 62500);
}

/* Steady RTT: RTTVAR decays and the clock granularity G takes over. */
static void test_granularity_floor(void **state)
{
	(void)state;
	struct tcp_rto rto;

	tcp_rto_init(&rto);
	for (int i = 0; i < 200; i++)
		tcp_rto_sample(&rto, 400 * MS);
	assert_int_equal(rto.srtt_us, 400 * MS);
	assert_int_equal(rto.rttvar_us, 0);
	assert_int_equal(rto.rto_us, 400 * MS + TCP_RTO_GRANULARITY_US);
}

/* (2.4) floor: here Linux's 200 ms; (2.5) ceiling 60 s. */
static void test_clamps(void **state)
{
	(void)state;
	struct tcp_rto rto;

	tcp_rto_init(&rto);
	tcp_rto_sample(&rto, 50);  /* 50 us on a LAN */
	assert_int_equal(rto.rto_us, TCP_RTO_MIN_US);

	tcp_rto_init(&rto);
	tcp_rto_sample(&rto, 30000 * MS);
	assert_int_equal(rto.rto_us, TCP_RTO_MAX_US);
}

/* (5.5) Back off by doubling, up to the ceiling; (5.7) a new measurement
 * after the back-off gives the computed value again. */
static void test_backoff(void **state)
{
	(void)state;
	struct tcp_rto rto;

	tcp_rto_init(&rto);
	tcp_rto_backoff(&rto);
	assert_int_equal(rto.rto_us, 2000 * MS);
	for (int i = 0; i < 10; i++)
		tcp_rto_backoff(&rto);
	assert_int_equal(rto.rto_us, TCP_RTO_MAX_US);

	tcp_rto_sample(&rto, 100 * MS);
	assert_int_equal(rto.rto_us, 300 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_rto),
		cmocka_unit_test(test_first_sample),
		cmocka_unit_test(test_second_sample),
		cmocka_unit_test(test_granularity_floor),
		cmocka_unit_test(test_clamps),
		cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for the RFC 6298 retransmission timeout (with the 200 ms
 * floor and 60 s ceiling the slow path uses) and for the AIMD congestion
 * window (RFC 5681, RFC 3465 byte counting).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp_cc.h"
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

#define MSS 1000u

static void test_cc_initial_window(void **state)
{
	(void)state;
	struct tcp_cc cc;

	tcp_cc_init(&cc, MSS, 1u << 30);
	assert_int_equal(cc.cwnd, TCP_CC_INITIAL_SEGMENTS * MSS);
	assert_int_equal(cc.ssthresh, UINT32_MAX);

	/* The window never exceeds what the send buffer can hold. */
	tcp_cc_init(&cc, MSS, 4 * MSS);
	assert_int_equal(cc.cwnd, 4 * MSS);
}

static void test_cc_slow_start_and_avoidance(void **state)
{
	(void)state;
	struct tcp_cc cc;

	tcp_cc_init(&cc, MSS, 1u << 30);
	/* Slow start: a window's worth of ACKs doubles the window. */
	tcp_cc_on_acked(&cc, 10 * MSS);
	assert_int_equal(cc.cwnd, 20 * MSS);

	/* Loss: halve; then one MSS per window of acked bytes. */
	tcp_cc_on_fast_retransmit(&cc);
	assert_int_equal(cc.cwnd, 10 * MSS);
	assert_int_equal(cc.ssthresh, 10 * MSS);
	tcp_cc_on_acked(&cc, 5 * MSS);
	assert_int_equal(cc.cwnd, 10 * MSS);
	tcp_cc_on_acked(&cc, 5 * MSS);
	assert_int_equal(cc.cwnd, 11 * MSS);
}

/* RFC 5681 (4): ssthresh = max(FlightSize / 2, 2*SMSS); here the window
 * restarts at 2 segments. */
static void test_cc_timeout(void **state)
{
	(void)state;
	struct tcp_cc cc;

	tcp_cc_init(&cc, MSS, 1u << 30);
	tcp_cc_on_timeout(&cc, 30 * MSS);
	assert_int_equal(cc.ssthresh, 15 * MSS);
	assert_int_equal(cc.cwnd, TCP_CC_LOSS_SEGMENTS * MSS);

	tcp_cc_on_timeout(&cc, MSS);
	assert_int_equal(cc.ssthresh, 2 * MSS);

	/* Slow start stops at ssthresh. */
	tcp_cc_on_timeout(&cc, 8 * MSS);
	tcp_cc_on_acked(&cc, 100 * MSS);
	assert_int_equal(cc.cwnd, 4 * MSS);
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
		cmocka_unit_test(test_cc_initial_window),
		cmocka_unit_test(test_cc_slow_start_and_avoidance),
		cmocka_unit_test(test_cc_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The congestion control test sequences and their driver
 * (test_sp_cc_sequences.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cc_rate.h"
#include "test_sp_cc_sequences.h"

#define ROWS(name, ...)                                                      \
	static const struct cc_step name##_steps[] = { __VA_ARGS__ };         \
	const struct cc_sequence name = {                                     \
		#name, name##_steps,                                          \
		sizeof(name##_steps) / sizeof(name##_steps[0]),               \
	}

/* repeat, every_us, event, acked, ecn %, rtt_us, rtt_step_us, flight */

/* An uncongested datacenter path: every interval one RTT of 40 us. */
ROWS(cc_seq_growth,
     { 12, 40, CC_ACK, CC_ACK_CLOCKED, 0, 40, 0, 0 });

ROWS(cc_seq_loss,
     { 4, 40, CC_ACK, CC_ACK_CLOCKED, 0, 40, 0, 0 },
     { 1, 0, CC_LOSS, 0, 0, 40, 0, CC_FLIGHT_SENT },
     { 20, 40, CC_ACK, CC_ACK_CLOCKED, 0, 40, 0, 0 });

ROWS(cc_seq_timeout,
     { 4, 40, CC_ACK, CC_ACK_CLOCKED, 0, 40, 0, 0 },
     { 1, 0, CC_TIMEOUT, 0, 0, 40, 0, CC_FLIGHT_SENT },
     { 12, 40, CC_ACK, CC_ACK_CLOCKED, 0, 40, 0, 0 });

/* A quarter of the bytes marked, intervals a quarter RTT apart; then the
 * marks stop. */
ROWS(cc_seq_marks,
     { 400, 100, CC_ACK, CC_ACK_CLOCKED, 25, 400, 0, 0 },
     { 40, 100, CC_ACK, CC_ACK_CLOCKED, 0, 400, 0, 0 });

/* Marks after a clean stretch: alpha has decayed well below 1 when a
 * tenth of one interval's bytes come back marked. */
ROWS(cc_seq_late_marks,
     { 12, 40, CC_ACK, CC_ACK_CLOCKED, 0, 40, 0, 0 },
     { 1, 40, CC_ACK, CC_ACK_CLOCKED, 10, 40, 0, 0 },
     { 4, 40, CC_ACK, CC_ACK_CLOCKED, 0, 40, 0, 0 });

/* Delay: below T_low, rising between the thresholds, above T_high,
 * falling, flat (TIMELY's 50/500 us). */
ROWS(cc_seq_rtt,
     { 3, 100, CC_ACK, CC_ACK_CLOCKED, 0, 40, 0, 0 },
     { 8, 100, CC_ACK, CC_ACK_CLOCKED, 0, 100, 20, 0 },
     { 3, 100, CC_ACK, CC_ACK_CLOCKED, 0, 800, 0, 0 },
     { 12, 100, CC_ACK, CC_ACK_CLOCKED, 0, 450, -10, 0 },
     { 8, 100, CC_ACK, CC_ACK_CLOCKED, 0, 340, 0, 0 });

/* A wide-area path, RTT 100 ms: slow start to 160 segments, one loss,
 * then 10 s of congestion avoidance in 10 ms intervals. */
ROWS(cc_seq_long_rtt,
     { 4, 100000, CC_ACK, CC_ACK_CLOCKED, 0, 100000, 0, 0 },
     { 1, 0, CC_LOSS, 0, 0, 100000, 0, CC_FLIGHT_SENT },
     { 1000, 10000, CC_ACK, CC_ACK_CLOCKED, 0, 100000, 0, 0 });

/* The same path with a second loss 1 s after the first, before the
 * window is back at its maximum. */
ROWS(cc_seq_two_losses,
     { 4, 100000, CC_ACK, CC_ACK_CLOCKED, 0, 100000, 0, 0 },
     { 1, 0, CC_LOSS, 0, 0, 100000, 0, CC_FLIGHT_SENT },
     { 100, 10000, CC_ACK, CC_ACK_CLOCKED, 0, 100000, 0, 0 },
     { 1, 0, CC_LOSS, 0, 0, 100000, 0, CC_FLIGHT_SENT },
     { 400, 10000, CC_ACK, CC_ACK_CLOCKED, 0, 100000, 0, 0 });

/* Nothing acked: first no RTT at all, then the same RTT over and over. */
ROWS(cc_seq_idle,
     { 5, 2000, CC_ACK, 0, 0, 0, 0, 0 },
     { 5, 2000, CC_ACK, 0, 0, 50, 0, 0 });

const struct cc_sequence *const cc_sequences[] = {
	&cc_seq_growth,    &cc_seq_loss,     &cc_seq_timeout,
	&cc_seq_marks,     &cc_seq_late_marks, &cc_seq_rtt,
	&cc_seq_long_rtt,  &cc_seq_two_losses, &cc_seq_idle,
};
const size_t cc_sequence_count = sizeof(cc_sequences) / sizeof(cc_sequences[0]);

static struct cc_trace trace;

static bool rate_based(enum tcp_cc_algorithm algorithm)
{
	return algorithm == TCP_CC_DCTCP_RATE || algorithm == TCP_CC_TIMELY ||
	       algorithm == TCP_CC_CONST_RATE;
}

/* What one RTT carries: the window, or the rate if that is lower. */
static uint64_t sent_per_rtt(const struct tcp_cc *cc, uint32_t rtt_us)
{
	uint64_t bytes = cc->cwnd;

	if (cc->rate != 0 && rtt_us != 0) {
		uint64_t paced = cc->rate * rtt_us / 1000000;

		if (paced < bytes)
			bytes = paced;
	}
	return bytes;
}

static uint32_t at_most_u32(uint64_t value)
{
	return value > UINT32_MAX ? UINT32_MAX : (uint32_t)value;
}

static void check_bounds(enum tcp_cc_algorithm algorithm,
			 const struct tcp_cc *cc, bool after_timeout)
{
	uint32_t initial = TCP_CC_INITIAL_SEGMENTS * cc->mss;

	assert_true(cc->max_cwnd >= TCP_CC_MIN_SEGMENTS * cc->mss);
	assert_true(cc->cwnd <= cc->max_cwnd);
	assert_true(cc->cwnd >= TCP_CC_LOSS_SEGMENTS * cc->mss);
	if (!after_timeout)
		assert_true(cc->cwnd >= TCP_CC_MIN_SEGMENTS * cc->mss);
	assert_true(cc->ssthresh >= TCP_CC_MIN_SEGMENTS * cc->mss);
	if (!rate_based(algorithm)) {
		assert_int_equal(cc->rate, 0);
		return;
	}
	assert_true(cc->rate >= CC_RATE_FLOOR);
	assert_true(cc->rate <= CC_RATE_CEILING);
	assert_true(cc->cwnd >= (initial < cc->max_cwnd ? initial : cc->max_cwnd));
	if (algorithm == TCP_CC_CONST_RATE)
		assert_int_equal(cc->cwnd, cc->max_cwnd);
}

static void run_interval(struct cc_point *point, const struct tcp_cc_config *cfg,
			 const struct cc_step *step, uint32_t rtt_us)
{
	struct tcp_cc *cc = &point->cc;
	uint64_t per_rtt = sent_per_rtt(cc, rtt_us);
	uint32_t flight = step->flight == CC_FLIGHT_SENT ? at_most_u32(per_rtt)
							 : step->flight;

	point->rtt_us = rtt_us;
	point->event = step->event;
	point->acked = 0;
	point->ecn = 0;
	switch (step->event) {
	case CC_LOSS:
		tcp_cc_on_loss(cc, cfg, flight, point->now_us);
		return;
	case CC_TIMEOUT:
		tcp_cc_on_timeout(cc, cfg, flight, point->now_us);
		return;
	case CC_ACK:
		break;
	}
	if (step->acked != CC_ACK_CLOCKED)
		point->acked = step->acked;
	else if (rtt_us != 0)
		point->acked = at_most_u32(per_rtt * step->every_us / rtt_us);
	point->ecn = (uint32_t)((uint64_t)point->acked * step->ecn_percent / 100);
	struct tcp_cc_sample sample = {
		.now_us = point->now_us,
		.acked_bytes = point->acked,
		.ecn_bytes = point->ecn,
		.rtt_us = rtt_us,
		.flight = flight,
	};
	tcp_cc_on_ack(cc, cfg, &sample);
}

const struct cc_trace *cc_run(enum tcp_cc_algorithm algorithm,
			      const struct tcp_cc_config *cfg,
			      const struct cc_sequence *seq, uint32_t mss,
			      uint32_t max_cwnd)
{
	bool after_timeout = false;

	trace.count = 1;
	trace.point[0] = (struct cc_point){ .now_us = 1000 };
	tcp_cc_init(&trace.point[0].cc, cfg, algorithm, mss, max_cwnd);
	check_bounds(algorithm, &trace.point[0].cc, false);
	for (size_t row = 0; row < seq->count; row++) {
		const struct cc_step *step = &seq->steps[row];
		int64_t rtt_us = step->rtt_us;

		for (uint32_t rep = 0; rep < step->repeat; rep++) {
			assert_true(trace.count < CC_TRACE_MAX);
			struct cc_point *point = &trace.point[trace.count];

			*point = trace.point[trace.count - 1];
			point->now_us += step->every_us;
			run_interval(point, cfg, step, (uint32_t)rtt_us);
			after_timeout |= step->event == CC_TIMEOUT;
			check_bounds(algorithm, &point->cc, after_timeout);
			rtt_us += step->rtt_step_us;
			trace.count++;
		}
	}
	return &trace;
}

const struct cc_trace *cc_run_default(enum tcp_cc_algorithm algorithm,
				      const struct cc_sequence *seq)
{
	struct tcp_cc_config cfg;

	tcp_cc_config_default(&cfg);
	return cc_run(algorithm, &cfg, seq, CC_TEST_MSS, CC_TEST_MAX_CWND);
}

size_t cc_at(const struct cc_sequence *seq, size_t row, uint32_t rep)
{
	size_t index = 1;

	assert_true(row < seq->count);
	assert_true(rep < seq->steps[row].repeat);
	for (size_t r = 0; r < row; r++)
		index += seq->steps[r].repeat;
	return index + rep;
}

size_t cc_row_last(const struct cc_sequence *seq, size_t row)
{
	return cc_at(seq, row, seq->steps[row].repeat - 1);
}

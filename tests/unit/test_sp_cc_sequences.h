/*
 * Synthetic control-interval sequences for the congestion control unit
 * tests, written once as data and driven through every algorithm, and
 * the driver that runs them: an ideal path where every interval acks
 * what the window (or the rate) sent in it, with the RTT, marks, losses
 * and timeouts the rows prescribe.  The driver checks the bounds every
 * algorithm keeps after each interval and records the state for the
 * algorithm-specific assertions.
 */
#ifndef TAS_TEST_SP_CC_SEQUENCES_H
#define TAS_TEST_SP_CC_SEQUENCES_H

#include <stddef.h>
#include <stdint.h>

#include "tcp_cc.h"

#define CC_TEST_MSS 1000u
#define CC_TEST_MAX_CWND (1u << 30)
#define CC_TRACE_MAX 2048u

/* acked: the bytes the window, or the rate if lower, sends per RTT,
 * scaled to the interval (an ACK-clocked, loss-free path). */
#define CC_ACK_CLOCKED UINT32_MAX
/* flight: the bytes the window, or the rate if lower, has out per RTT. */
#define CC_FLIGHT_SENT UINT32_MAX

enum cc_event {
	CC_ACK,
	CC_LOSS,
	CC_TIMEOUT,
};

/* One row: `repeat` intervals alike; before each the clock advances by
 * every_us; after each the RTT moves by rtt_step_us. */
struct cc_step {
	uint32_t repeat;
	uint32_t every_us;
	enum cc_event event;
	uint32_t acked;        /* bytes or CC_ACK_CLOCKED */
	uint32_t ecn_percent;  /* of the acked bytes, marked */
	uint32_t rtt_us;       /* smoothed RTT reported, 0: none */
	int32_t rtt_step_us;
	uint32_t flight;       /* bytes or CC_FLIGHT_SENT, for loss/timeout */
};

struct cc_sequence {
	const char *name;
	const struct cc_step *steps;
	size_t count;
};

/* Rows of each sequence, for the assertions. */
enum { GROWTH_ACKS };                      /* 12 x RTT 40 us */
enum { LOSS_GROW, LOSS_EVENT, LOSS_AFTER }; /* 4, loss, 20 x RTT 40 us */
enum { TIMEOUT_GROW, TIMEOUT_EVENT, TIMEOUT_AFTER };
enum { MARKS_ON, MARKS_OFF };               /* 25 % marks, RTT 400 us */
enum { LATE_CLEAN, LATE_MARKED, LATE_AFTER }; /* 12, 10 % marks, 4 */
enum { RTT_LOW, RTT_RISING, RTT_HIGH, RTT_FALLING, RTT_FLAT };
enum { LONG_GROW, LONG_LOSS, LONG_AFTER };  /* RTT 100 ms, 10 ms ticks */
enum { TWO_GROW, TWO_LOSS1, TWO_BETWEEN, TWO_LOSS2, TWO_AFTER };
enum { IDLE_NO_RTT, IDLE_SAME_RTT };

extern const struct cc_sequence cc_seq_growth;
extern const struct cc_sequence cc_seq_loss;
extern const struct cc_sequence cc_seq_timeout;
extern const struct cc_sequence cc_seq_marks;
extern const struct cc_sequence cc_seq_late_marks;
extern const struct cc_sequence cc_seq_rtt;
extern const struct cc_sequence cc_seq_long_rtt;
extern const struct cc_sequence cc_seq_two_losses;
extern const struct cc_sequence cc_seq_idle;

extern const struct cc_sequence *const cc_sequences[];
extern const size_t cc_sequence_count;

/* The state after one interval, and what the interval was. */
struct cc_point {
	struct tcp_cc cc;
	uint64_t now_us;
	uint32_t rtt_us;
	uint32_t acked;
	uint32_t ecn;
	enum cc_event event;
};

/* point[0]: right after tcp_cc_init; point[i]: after interval i. */
struct cc_trace {
	size_t count;
	struct cc_point point[CC_TRACE_MAX];
};

/* Run seq from tcp_cc_init(algorithm, cfg, mss, max_cwnd), checking the
 * bounds after every interval.  The trace is static: one run at a time. */
const struct cc_trace *cc_run(enum tcp_cc_algorithm algorithm,
			      const struct tcp_cc_config *cfg,
			      const struct cc_sequence *seq, uint32_t mss,
			      uint32_t max_cwnd);

/* cc_run with the default configuration, CC_TEST_MSS, CC_TEST_MAX_CWND. */
const struct cc_trace *cc_run_default(enum tcp_cc_algorithm algorithm,
				      const struct cc_sequence *seq);

/* Index in the trace of interval `rep` (from 0) of row `row`. */
size_t cc_at(const struct cc_sequence *seq, size_t row, uint32_t rep);

/* Index of the last interval of row `row`. */
size_t cc_row_last(const struct cc_sequence *seq, size_t row);

#endif /* TAS_TEST_SP_CC_SEQUENCES_H */

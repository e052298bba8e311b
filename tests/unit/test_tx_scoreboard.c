/*
 * Unit tests for the sender's SACK scoreboard (RFC 6675): IsLost, the
 * next range to retransmit, lost bytes for pipe, NewReno's first segment
 * and the everything-is-lost rule after a timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tx_scoreboard.h"

#define MSS 1000u

static struct tx_scoreboard board(const struct seq_interval *sacked,
				  uint8_t count, bool in_recovery, bool all_lost)
{
	return (struct tx_scoreboard){
		.sacked = sacked,
		.count = count,
		.una = 0,
		.limit = 20 * MSS,
		.mss = MSS,
		.in_recovery = in_recovery,
		.all_lost = all_lost,
	};
}

/* One segment lost, then DupThresh segments SACKed: IsLost(SND.UNA). */
static void test_una_lost_after_three_segments(void **state)
{
	(void)state;
	struct seq_interval two[] = { { MSS, 3 * MSS } };
	struct seq_interval three[] = { { MSS, 4 * MSS } };
	struct tx_scoreboard sb = board(two, 1, false, false);

	assert_false(tx_scoreboard_una_lost(&sb));
	sb = board(three, 1, false, false);
	assert_true(tx_scoreboard_una_lost(&sb));
}

/* Three discontiguous blocks above a hole make it lost even if small. */
static void test_lost_by_block_count(void **state)
{
	(void)state;
	struct seq_interval blocks[] = {
		{ 1 * MSS, 1 * MSS + 100 }, { 2 * MSS, 2 * MSS + 100 },
		{ 3 * MSS, 3 * MSS + 100 },
	};
	struct tx_scoreboard sb = board(blocks, 3, false, false);

	assert_true(tx_scoreboard_una_lost(&sb));
}

/* In recovery, holes with enough SACKed above are resent one MSS at a
 * time, in order; the hole above the highest SACK is not lost. */
static void test_next_lost_walks_holes(void **state)
{
	(void)state;
	struct seq_interval blocks[] = { { 2 * MSS, 3 * MSS }, { 4 * MSS, 8 * MSS } };
	struct tx_scoreboard sb = board(blocks, 2, true, false);
	struct seq_interval range;

	assert_true(tx_scoreboard_next_lost(&sb, 0, &range));
	assert_int_equal(range.start, 0);
	assert_int_equal(range.end, MSS);
	assert_true(tx_scoreboard_next_lost(&sb, MSS, &range));
	assert_int_equal(range.start, MSS);
	assert_int_equal(range.end, 2 * MSS);
	assert_true(tx_scoreboard_next_lost(&sb, 2 * MSS, &range));
	assert_int_equal(range.start, 3 * MSS);
	assert_int_equal(range.end, 4 * MSS);
	assert_false(tx_scoreboard_next_lost(&sb, 4 * MSS, &range));
	/* lost: [0, 2 MSS) and [3 MSS, 4 MSS) */
	assert_int_equal(tx_scoreboard_lost_bytes(&sb, 0), 3 * MSS);
	assert_int_equal(tx_scoreboard_lost_bytes(&sb, MSS), 2 * MSS);
}

/* A hole with too little SACKed above it is not lost (reordering). */
static void test_high_hole_not_lost(void **state)
{
	(void)state;
	struct seq_interval blocks[] = { { 1 * MSS, 5 * MSS }, { 6 * MSS, 7 * MSS } };
	struct tx_scoreboard sb = board(blocks, 2, true, false);
	struct seq_interval range;

	assert_true(tx_scoreboard_next_lost(&sb, 0, &range));
	assert_int_equal(range.end, MSS);
	assert_false(tx_scoreboard_next_lost(&sb, MSS, &range));
	assert_int_equal(tx_scoreboard_lost_bytes(&sb, 0), MSS);
}

/* Without SACK (NewReno) recovery resends only the first segment. */
static void test_newreno_first_segment(void **state)
{
	(void)state;
	struct tx_scoreboard sb = board(NULL, 0, true, false);
	struct seq_interval range;

	assert_true(tx_scoreboard_next_lost(&sb, 0, &range));
	assert_int_equal(range.start, 0);
	assert_int_equal(range.end, MSS);
	assert_false(tx_scoreboard_next_lost(&sb, MSS, &range));
	sb.in_recovery = false;
	assert_false(tx_scoreboard_next_lost(&sb, 0, &range));
}

/* After a timeout everything not SACKed below the recovery point is. */
static void test_timeout_all_lost(void **state)
{
	(void)state;
	struct seq_interval blocks[] = { { 5 * MSS, 6 * MSS } };
	struct tx_scoreboard sb = board(blocks, 1, true, true);
	struct seq_interval range;

	assert_int_equal(tx_scoreboard_lost_bytes(&sb, 0), 19 * MSS);
	assert_true(tx_scoreboard_next_lost(&sb, 5 * MSS, &range));
	assert_int_equal(range.start, 6 * MSS);
	assert_true(tx_scoreboard_next_lost(&sb, 19 * MSS + 500, &range));
	assert_int_equal(range.end, 20 * MSS);
	assert_false(tx_scoreboard_next_lost(&sb, 20 * MSS, &range));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_una_lost_after_three_segments),
		cmocka_unit_test(test_lost_by_block_count),
		cmocka_unit_test(test_next_lost_walks_holes),
		cmocka_unit_test(test_high_hole_not_lost),
		cmocka_unit_test(test_newreno_first_segment),
		cmocka_unit_test(test_timeout_all_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

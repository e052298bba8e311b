/*
 * Unit tests for the sequence-number predicates of tcp_seq.h (RFC 9293
 * section 3.4): every comparison across the 2^32 wrap and at the 2^31
 * distance limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp_seq.h"

/* Pairs (a, b) with a strictly before b in sequence space. */
static const uint32_t ordered_pairs[][2] = {
	{ 0, 1 },
	{ 0xffffffffu, 0 },
	{ 0xfffffff0u, 0x10 },
	{ 0x7fffffffu, 0x80000000u },
	{ 0x80000000u, 0x80000001u },
	{ 0, 0x7fffffffu },                 /* 2^31 - 1 apart: still ordered */
	{ 0x90000000u, 0x0fffffffu },       /* across the wrap, 2^31 - 1 apart */
	{ 12345, 12345 + 1460 },
};

static void test_ordered_pairs(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(ordered_pairs) / sizeof(ordered_pairs[0]); i++) {
		uint32_t a = ordered_pairs[i][0];
		uint32_t b = ordered_pairs[i][1];

		assert_true(seq_lt(a, b));
		assert_true(seq_leq(a, b));
		assert_false(seq_gt(a, b));
		assert_false(seq_geq(a, b));

		assert_false(seq_lt(b, a));
		assert_false(seq_leq(b, a));
		assert_true(seq_gt(b, a));
		assert_true(seq_geq(b, a));
	}
}

static void test_equal(void **state)
{
	(void)state;
	const uint32_t values[] = { 0, 1, 0x7fffffffu, 0x80000000u, 0xffffffffu };

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint32_t v = values[i];
		assert_false(seq_lt(v, v));
		assert_true(seq_leq(v, v));
		assert_false(seq_gt(v, v));
		assert_true(seq_geq(v, v));
	}
}

/* Every distance from -1000 to +1000 around the wrap point. */
static void test_sweep_across_wrap(void **state)
{
	(void)state;
	const uint32_t base = 0xffffff00u;

	for (int32_t delta = -1000; delta <= 1000; delta++) {
		uint32_t other = base + (uint32_t)delta;
		assert_int_equal(seq_lt(base, other), delta > 0);
		assert_int_equal(seq_leq(base, other), delta >= 0);
		assert_int_equal(seq_gt(base, other), delta < 0);
		assert_int_equal(seq_geq(base, other), delta <= 0);
	}
}

static void test_in_range(void **state)
{
	(void)state;

	/* [0xfffffffe, 0xfffffffe + 5) = fffffffe ffffffff 0 1 2 */
	assert_false(seq_in_range(0xfffffffdu, 0xfffffffeu, 5));
	assert_true(seq_in_range(0xfffffffeu, 0xfffffffeu, 5));
	assert_true(seq_in_range(0xffffffffu, 0xfffffffeu, 5));
	assert_true(seq_in_range(0, 0xfffffffeu, 5));
	assert_true(seq_in_range(2, 0xfffffffeu, 5));
	assert_false(seq_in_range(3, 0xfffffffeu, 5));

	/* An empty range holds nothing, not even its start. */
	assert_false(seq_in_range(0, 0, 0));
	assert_false(seq_in_range(0xffffffffu, 0xffffffffu, 0));

	/* The largest range holds everything but the sequence before it. */
	assert_true(seq_in_range(0xfffffffeu, 0, 0xffffffffu));
	assert_false(seq_in_range(0xffffffffu, 0, 0xffffffffu));

	for (uint32_t offset = 0; offset < 200; offset++) {
		uint32_t seq = 0xffffffa0u + offset;
		assert_int_equal(seq_in_range(seq, 0xffffffa0u, 100), offset < 100);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ordered_pairs),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_sweep_across_wrap),
		cmocka_unit_test(test_in_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

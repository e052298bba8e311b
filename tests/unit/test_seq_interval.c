/*
 * Unit tests for the sequence-interval lists that hold out-of-order data
 * and the SACK scoreboard: merging, capacity, D-SACK overlap, trimming,
 * and wrap-around of the sequence space.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "seq_interval.h"

#define CAP 4

struct list {
	struct seq_interval iv[CAP];
	uint8_t count;
};

static void assert_list(const struct list *l, unsigned count, const uint32_t *pairs)
{
	assert_int_equal(l->count, count);
	for (unsigned i = 0; i < count; i++) {
		assert_int_equal(l->iv[i].start, pairs[2 * i]);
		assert_int_equal(l->iv[i].end, pairs[2 * i + 1]);
	}
}

static int add(struct list *l, uint32_t start, uint32_t end, struct seq_interval *dup)
{
	return seq_intervals_add(l->iv, &l->count, CAP, start, end, dup);
}

static void test_insert_in_order_of_sequence(void **state)
{
	(void)state;
	struct list l = { .count = 0 };

	assert_int_equal(add(&l, 300, 400, NULL), 0);
	assert_int_equal(add(&l, 100, 200, NULL), 0);
	assert_int_equal(add(&l, 500, 600, NULL), 2);
	assert_list(&l, 3, (const uint32_t[]){ 100, 200, 300, 400, 500, 600 });
}

/* Touching intervals merge: the list never holds adjacent ones. */
static void test_adjacent_and_bridging_merge(void **state)
{
	(void)state;
	struct list l = { .count = 0 };
	struct seq_interval dup;

	add(&l, 100, 200, NULL);
	add(&l, 300, 400, NULL);
	assert_int_equal(add(&l, 200, 300, &dup), 0);
	assert_list(&l, 1, (const uint32_t[]){ 100, 400 });
	assert_int_equal(dup.start, dup.end); /* nothing held twice */
}

static void test_overlap_reports_duplicate(void **state)
{
	(void)state;
	struct list l = { .count = 0 };
	struct seq_interval dup;

	add(&l, 100, 200, NULL);
	assert_int_equal(add(&l, 150, 250, &dup), 0);
	assert_int_equal(dup.start, 150);
	assert_int_equal(dup.end, 200);
	assert_list(&l, 1, (const uint32_t[]){ 100, 250 });
	/* Wholly inside: the list does not change, all of it is a duplicate. */
	assert_int_equal(add(&l, 120, 130, &dup), 0);
	assert_int_equal(dup.start, 120);
	assert_int_equal(dup.end, 130);
	assert_list(&l, 1, (const uint32_t[]){ 100, 250 });
}

/* A full list takes what merges and refuses what needs a new entry. */
static void test_capacity(void **state)
{
	(void)state;
	struct list l = { .count = 0 };

	for (uint32_t i = 0; i < CAP; i++)
		assert_true(add(&l, 100 * i * 2, 100 * i * 2 + 100, NULL) >= 0);
	assert_int_equal(add(&l, 10000, 10100, NULL), -1);
	assert_int_equal(l.count, CAP);
	assert_int_equal(add(&l, 100, 150, NULL), 0); /* extends [0,100) */
	assert_int_equal(l.iv[0].end, 150);
}

static void test_one_add_spanning_many(void **state)
{
	(void)state;
	struct list l = { .count = 0 };

	add(&l, 100, 200, NULL);
	add(&l, 300, 400, NULL);
	add(&l, 500, 600, NULL);
	add(&l, 800, 900, NULL);
	assert_int_equal(add(&l, 150, 550, NULL), 0);
	assert_list(&l, 2, (const uint32_t[]){ 100, 600, 800, 900 });
	assert_int_equal(seq_intervals_bytes(l.iv, l.count), 600);
}

static void test_trim(void **state)
{
	(void)state;
	struct list l = { .count = 0 };

	add(&l, 100, 200, NULL);
	add(&l, 300, 400, NULL);
	seq_intervals_trim(l.iv, &l.count, 50);
	assert_list(&l, 2, (const uint32_t[]){ 100, 200, 300, 400 });
	seq_intervals_trim(l.iv, &l.count, 350);
	assert_list(&l, 1, (const uint32_t[]){ 350, 400 });
	seq_intervals_trim(l.iv, &l.count, 400);
	assert_int_equal(l.count, 0);
}

/* Sequence numbers wrap at 2^32: order is modular. */
static void test_wrap_around(void **state)
{
	(void)state;
	struct list l = { .count = 0 };

	add(&l, 100, 200, NULL);
	add(&l, UINT32_MAX - 99, UINT32_MAX - 49, NULL);
	assert_list(&l, 2, (const uint32_t[]){ UINT32_MAX - 99, UINT32_MAX - 49, 100, 200 });
	add(&l, UINT32_MAX - 49, 100, NULL);
	assert_list(&l, 1, (const uint32_t[]){ UINT32_MAX - 99, 200 });
	assert_int_equal(seq_intervals_bytes(l.iv, l.count), 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_in_order_of_sequence),
		cmocka_unit_test(test_adjacent_and_bridging_merge),
		cmocka_unit_test(test_overlap_reports_duplicate),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_one_add_spanning_many),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_wrap_around),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for one member's copies of connections (app_copies.h):
 * adding, removing one entry at a time, and keeping only the copies a
 * forked child names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "app_copies.h"

static bool holds(const struct app_copies *copies, uint32_t id, uint32_t gen)
{
	for (uint32_t i = 0; i < copies->count; i++)
		if (copies->refs[i].flow_id == id && copies->refs[i].flow_gen == gen)
			return true;
	return false;
}

static void test_add_and_remove(void **state)
{
	(void)state;
	struct app_copies copies = { 0 };

	/* Past the first growth. */
	for (uint32_t id = 0; id < 100; id++)
		assert_int_equal(app_copies_add(&copies, id, 1), 0);
	assert_int_equal(copies.count, 100);
	/* The generation is part of the name: a reused id is another flow. */
	assert_false(app_copies_remove(&copies, 7, 2));
	assert_true(app_copies_remove(&copies, 7, 1));
	assert_false(app_copies_remove(&copies, 7, 1));
	assert_int_equal(copies.count, 99);
	assert_false(holds(&copies, 7, 1));
	assert_true(holds(&copies, 99, 1) && holds(&copies, 0, 1));
	app_copies_free(&copies);
	assert_int_equal(copies.count, 0);
	assert_false(app_copies_remove(&copies, 0, 1));
}

static void test_one_entry_per_copy(void **state)
{
	(void)state;
	struct app_copies copies = { 0 };

	/* Entries are counted, not merged (tcp counts a copy for each):
	 * each goes on its own. */
	assert_int_equal(app_copies_add(&copies, 3, 9), 0);
	assert_int_equal(app_copies_add(&copies, 3, 9), 0);
	assert_true(app_copies_remove(&copies, 3, 9));
	assert_true(holds(&copies, 3, 9));
	assert_true(app_copies_remove(&copies, 3, 9));
	assert_int_equal(copies.count, 0);
	app_copies_free(&copies);
}

static void test_retain_what_is_kept(void **state)
{
	(void)state;
	struct app_copies copies = { 0 }, keep = { 0 }, dropped = { 0 };

	for (uint32_t id = 0; id < 40; id++)
		assert_int_equal(app_copies_add(&copies, id, id + 1), 0);
	/* Kept out of order, one of them with another generation (which
	 * keeps nothing), and one that is no copy at all. */
	assert_int_equal(app_copies_add(&keep, 30, 31), 0);
	assert_int_equal(app_copies_add(&keep, 2, 3), 0);
	assert_int_equal(app_copies_add(&keep, 17, 1), 0);
	assert_int_equal(app_copies_add(&keep, 500, 1), 0);

	assert_int_equal(app_copies_retain(&copies, &keep, &dropped), 0);
	assert_int_equal(copies.count, 2);
	assert_true(holds(&copies, 30, 31) && holds(&copies, 2, 3));
	assert_int_equal(dropped.count, 38);
	assert_true(holds(&dropped, 17, 18) && holds(&dropped, 0, 1) &&
		    holds(&dropped, 39, 40));
	assert_false(holds(&dropped, 2, 3));
	app_copies_free(&dropped);

	/* Keeping nothing drops everything. */
	app_copies_free(&keep);
	assert_int_equal(app_copies_retain(&copies, &keep, &dropped), 0);
	assert_int_equal(copies.count, 0);
	assert_int_equal(dropped.count, 2);
	app_copies_free(&dropped);
	app_copies_free(&copies);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_remove),
		cmocka_unit_test(test_one_entry_per_copy),
		cmocka_unit_test(test_retain_what_is_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

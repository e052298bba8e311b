/*
 * Unit tests for the member processes of an application (app_member.h):
 * the join token, joining and leaving, and which member owns a context.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "app_member.h"

static void test_token_is_random_and_checked(void **state)
{
	(void)state;
	struct app_members first, second;

	assert_int_equal(app_members_init(&first), 0);
	assert_int_equal(app_members_init(&second), 0);
	/* Two applications never share a token (2^-64 to fail). */
	assert_true(first.join_token != second.join_token);
	assert_true(app_members_token_matches(&first, first.join_token));
	assert_false(app_members_token_matches(&first, second.join_token));
	assert_false(app_members_token_matches(&first, first.join_token ^ 1));
	assert_false(app_members_token_matches(&first,
					       first.join_token ^ (1ull << 63)));
	assert_false(app_members_token_matches(&first, 0));
	assert_int_equal(first.count, 0);
}

static void test_members_join_until_full(void **state)
{
	(void)state;
	struct app_members members;
	struct app_member member[APP_MAX_MEMBERS + 1] = { 0 };

	assert_int_equal(app_members_init(&members), 0);
	for (unsigned i = 0; i < APP_MAX_MEMBERS; i++)
		assert_int_equal(app_members_add(&members, &member[i]), 0);
	assert_int_equal(members.count, APP_MAX_MEMBERS);
	assert_int_equal(app_members_add(&members, &member[APP_MAX_MEMBERS]),
			 -EUSERS);
	/* A member that left makes room. */
	app_members_remove(&members, &member[7]);
	assert_int_equal(app_members_add(&members, &member[APP_MAX_MEMBERS]), 0);
	assert_int_equal(members.count, APP_MAX_MEMBERS);
}

static void test_leaving_member_takes_its_contexts(void **state)
{
	(void)state;
	struct app_members members;
	struct app_member parent = { 0 }, child = { 0 }, stranger = { 0 };

	assert_int_equal(app_members_init(&members), 0);
	assert_int_equal(app_members_add(&members, &parent), 0);
	assert_int_equal(app_members_add(&members, &child), 0);
	app_member_take_context(&parent, 0);
	app_member_take_context(&child, 1);
	app_member_take_context(&child, TAS_MAX_CONTEXTS - 1);

	assert_ptr_equal(app_members_owner(&members, 0), &parent);
	assert_ptr_equal(app_members_owner(&members, 1), &child);
	assert_ptr_equal(app_members_owner(&members, TAS_MAX_CONTEXTS - 1),
			 &child);
	assert_null(app_members_owner(&members, 2));
	assert_null(app_members_owner(&members, TAS_MAX_CONTEXTS));

	assert_int_equal(app_members_remove(&members, &child),
			 (1u << 1) | (1u << (TAS_MAX_CONTEXTS - 1)));
	assert_int_equal(members.count, 1);
	assert_null(app_members_owner(&members, 1));
	assert_ptr_equal(app_members_owner(&members, 0), &parent);
	/* Leaving twice, or never having joined, changes nothing. */
	assert_int_equal(app_members_remove(&members, &child), 0);
	assert_int_equal(app_members_remove(&members, &stranger), 0);
	assert_int_equal(members.count, 1);

	assert_int_equal(app_members_remove(&members, &parent), 1u << 0);
	assert_int_equal(members.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_is_random_and_checked),
		cmocka_unit_test(test_members_join_until_full),
		cmocka_unit_test(test_leaving_member_takes_its_contexts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

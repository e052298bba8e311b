/*
 * Unit tests for the slow path's tables: flow id allocation with
 * generations, and the TIME-WAIT table (RFC 9293 section 3.6: 2*MSL,
 * restart on a retransmitted FIN, oldest evicted when full).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "flow_alloc.h"
#include "tcp_time_wait.h"

#define FLOWS 8u

static void test_flow_ids_unique_and_exhaustible(void **state)
{
	(void)state;
	struct flow_state flows[FLOWS] = { 0 };
	struct flow_alloc *alloc = flow_alloc_create(flows, FLOWS);
	bool seen[FLOWS] = { false };

	assert_non_null(alloc);
	for (unsigned i = 0; i < FLOWS; i++) {
		int64_t id = flow_alloc_get(alloc);
		assert_true(id >= 0 && id < FLOWS);
		assert_false(seen[id]);
		seen[id] = true;
	}
	assert_int_equal(flow_alloc_get(alloc), -ENOSPC);
	assert_int_equal(flow_alloc_in_use(alloc), FLOWS);
	flow_alloc_destroy(alloc);
}

static void test_flow_generation_bumps_on_reuse(void **state)
{
	(void)state;
	struct flow_state flows[FLOWS] = { 0 };
	struct flow_alloc *alloc = flow_alloc_create(flows, FLOWS);

	int64_t id = flow_alloc_get(alloc);
	uint32_t first_gen = flows[id].flow_gen;
	assert_int_not_equal(first_gen, 0);
	flows[id].rx_next_seq = 1234;
	flow_alloc_put(alloc, (uint32_t)id);
	/* A double free or a foreign id is ignored. */
	flow_alloc_put(alloc, (uint32_t)id);
	flow_alloc_put(alloc, FLOWS + 3);
	assert_int_equal(flow_alloc_in_use(alloc), 0);

	assert_int_equal(flow_alloc_get(alloc), id);
	assert_int_equal(flows[id].flow_gen, first_gen + 1);
	assert_int_equal(flows[id].rx_next_seq, 0);

	/* The generation skips 0 when it wraps. */
	flow_alloc_put(alloc, (uint32_t)id);
	flows[id].flow_gen = UINT32_MAX;
	assert_int_equal(flow_alloc_get(alloc), id);
	assert_int_equal(flows[id].flow_gen, 1);
	flow_alloc_destroy(alloc);
}

static struct time_wait entry_for(uint16_t port)
{
	return (struct time_wait){
		.key = { .local_ip = 1, .remote_ip = 2, .local_port = 80,
			 .remote_port = port },
		.rcv_nxt = 1000u + port,
		.snd_nxt = 2000u + port,
	};
}

static struct time_wait *find(uint16_t port)
{
	struct time_wait entry = entry_for(port);

	return time_wait_lookup(&entry.key, flow_key_hash(&entry.key));
}

static void test_time_wait_expiry(void **state)
{
	(void)state;
	assert_int_equal(time_wait_init(4), 0);
	struct time_wait a = entry_for(1), b = entry_for(2);
	time_wait_add(&a, 0);
	time_wait_add(&b, 10);

	struct time_wait *found = find(1);
	assert_non_null(found);
	assert_int_equal(found->rcv_nxt, 1001);
	assert_null(find(3));

	/* The next deadline is the oldest entry's. */
	assert_int_equal(time_wait_expire(5), TCP_TIME_WAIT_US);
	assert_int_equal(time_wait_expire(TCP_TIME_WAIT_US), TCP_TIME_WAIT_US + 10);
	assert_null(find(1));
	assert_non_null(find(2));

	/* A retransmitted FIN restarts the timeout. */
	time_wait_restart(find(2), 20);
	assert_int_equal(time_wait_expire(TCP_TIME_WAIT_US + 10),
			 TCP_TIME_WAIT_US + 20);
	assert_int_equal(time_wait_expire(TCP_TIME_WAIT_US + 20), UINT64_MAX);
	assert_int_equal(time_wait_count(), 0);
	time_wait_fini();
}

static void test_time_wait_full_evicts_oldest(void **state)
{
	(void)state;
	assert_int_equal(time_wait_init(3), 0);
	for (uint16_t port = 1; port <= 5; port++) {
		struct time_wait entry = entry_for(port);
		time_wait_add(&entry, port);
	}
	assert_int_equal(time_wait_count(), 3);
	assert_null(find(1));
	assert_null(find(2));
	assert_non_null(find(3));
	assert_non_null(find(5));

	/* Adding a key already present replaces it. */
	struct time_wait again = entry_for(4);
	again.rcv_nxt = 7;
	time_wait_add(&again, 100);
	assert_int_equal(time_wait_count(), 3);
	assert_int_equal(find(4)->rcv_nxt, 7);

	time_wait_remove(find(3));
	assert_null(find(3));
	assert_int_equal(time_wait_count(), 2);
	time_wait_fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow_ids_unique_and_exhaustible),
		cmocka_unit_test(test_flow_generation_bumps_on_reuse),
		cmocka_unit_test(test_time_wait_expiry),
		cmocka_unit_test(test_time_wait_full_evicts_oldest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for the flow table: the writer's operations and their error
 * returns, tombstones and released slots, a randomized run against a
 * reference model, and a reader thread looking flows up while the writer
 * inserts and removes.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow_table.h"
#include "test_rand.h"

/* Distinct keys for distinct n, all sharing local address and port as a
 * server's flows do. */
static struct flow_key key_of(uint32_t n)
{
	return (struct flow_key){
		.local_ip = 0x0100000a,           /* 10.0.0.1 */
		.remote_ip = 0x0000000a | (n >> 16) << 8,
		.local_port = 0x5000,             /* 80 */
		.remote_port = (uint16_t)n,
	};
}

static int64_t lookup(const struct flow_table *table, const struct flow_key *key)
{
	return flow_table_lookup(table, key, flow_key_hash(key));
}

/* Keys whose first probe slot is the same in a table of capacity slots;
 * fills keys[count] and returns the shared home slot. */
static uint32_t colliding_keys(uint32_t capacity, struct flow_key *keys,
			       unsigned count)
{
	uint32_t home = flow_key_hash(&(struct flow_key){ 0 }) & (capacity - 1);
	unsigned found = 0;

	for (uint32_t n = 1; found < count; n++) {
		struct flow_key key = key_of(n);
		if ((flow_key_hash(&key) & (capacity - 1)) == home)
			keys[found++] = key;
	}
	return home;
}

static void test_hash_deterministic_and_spread(void **state)
{
	(void)state;
	enum { GROUPS = 512, KEYS = 512 * 64 };
	static unsigned per_group[GROUPS];

	struct flow_key a = key_of(7), b = key_of(7);
	assert_int_equal(flow_key_hash(&a), flow_key_hash(&b));
	b.remote_port++;
	assert_int_not_equal(flow_key_hash(&a), flow_key_hash(&b));

	/* Consecutive client ports must not cluster in a few groups. */
	memset(per_group, 0, sizeof(per_group));
	for (uint32_t n = 0; n < KEYS; n++) {
		struct flow_key key = key_of(n);
		per_group[flow_key_hash(&key) % GROUPS]++;
	}
	for (unsigned g = 0; g < GROUPS; g++) {
		assert_in_range(per_group[g], KEYS / GROUPS / 2, KEYS / GROUPS * 2);
	}
}

static void test_create_limits(void **state)
{
	(void)state;

	assert_null(flow_table_create(0));
	assert_null(flow_table_create((1u << 30) + 1));
	struct flow_table *table = flow_table_create(1);
	assert_non_null(table);
	flow_table_destroy(table);
	flow_table_destroy(NULL);
}

static void test_insert_lookup_remove(void **state)
{
	(void)state;
	struct flow_table *table = flow_table_create(16);
	struct flow_key a = key_of(1), b = key_of(2);
	assert_non_null(table);

	assert_int_equal(lookup(table, &a), -1);
	assert_int_equal(flow_table_insert(table, &a, 3), 0);
	assert_int_equal(flow_table_insert(table, &b, 0), 0);
	assert_int_equal(lookup(table, &a), 3);
	assert_int_equal(lookup(table, &b), 0);

	assert_int_equal(flow_table_insert(table, &a, 5), -EEXIST);
	assert_int_equal(lookup(table, &a), 3);

	int slot = flow_table_remove(table, &a);
	assert_true(slot >= 0);
	assert_int_equal(lookup(table, &a), -1);
	assert_int_equal(lookup(table, &b), 0);
	assert_int_equal(flow_table_remove(table, &a), -ENOENT);

	/* The key may come back while its old slot is still a tombstone. */
	assert_int_equal(flow_table_insert(table, &a, 9), 0);
	assert_int_equal(lookup(table, &a), 9);
	flow_table_release_slot(table, (uint32_t)slot);
	assert_int_equal(lookup(table, &a), 9);
	flow_table_destroy(table);
}

static void test_invalid_flow_id(void **state)
{
	(void)state;
	struct flow_table *table = flow_table_create(16);
	struct flow_key key = key_of(1);

	assert_int_equal(flow_table_insert(table, &key, 16), -EINVAL);
	assert_int_equal(flow_table_insert(table, &key, UINT32_MAX), -EINVAL);
	assert_int_equal(flow_table_insert(table, &key, UINT32_MAX - 1), -EINVAL);
	assert_int_equal(lookup(table, &key), -1);
	assert_int_equal(flow_table_insert(table, &key, 15), 0);
	flow_table_destroy(table);
}

static void test_full_table(void **state)
{
	(void)state;
	enum { MAX = 100 };
	struct flow_table *table = flow_table_create(MAX);

	for (uint32_t i = 0; i < MAX; i++) {
		struct flow_key key = key_of(i);
		assert_int_equal(flow_table_insert(table, &key, i), 0);
	}
	struct flow_key extra = key_of(MAX);
	assert_int_equal(flow_table_insert(table, &extra, 0), -ENOSPC);
	/* A duplicate is still reported as such when full. */
	struct flow_key first = key_of(0);
	assert_int_equal(flow_table_insert(table, &first, 1), -EEXIST);

	int slot = flow_table_remove(table, &first);
	assert_true(slot >= 0);
	assert_int_equal(flow_table_insert(table, &extra, 0), 0);
	assert_int_equal(lookup(table, &extra), 0);
	flow_table_destroy(table);
}

/* A table of two slots: tombstones are not reused, so after two removals
 * without release there is no room, and lookups still terminate. */
static void test_tombstones_block_until_released(void **state)
{
	(void)state;
	struct flow_table *table = flow_table_create(1);
	struct flow_key a = key_of(1), b = key_of(2), c = key_of(3);

	assert_int_equal(flow_table_insert(table, &a, 0), 0);
	int slot_a = flow_table_remove(table, &a);
	assert_int_equal(flow_table_insert(table, &b, 0), 0);
	int slot_b = flow_table_remove(table, &b);
	assert_true(slot_a >= 0 && slot_b >= 0);
	assert_int_not_equal(slot_a, slot_b);

	assert_int_equal(flow_table_insert(table, &c, 0), -ENOSPC);
	assert_int_equal(lookup(table, &c), -1);
	assert_int_equal(flow_table_remove(table, &c), -ENOENT);

	flow_table_release_slot(table, (uint32_t)slot_a);
	assert_int_equal(flow_table_insert(table, &c, 0), 0);
	assert_int_equal(flow_table_remove(table, &c), slot_a);
	flow_table_destroy(table);
}

/* Three keys with one home slot: lookups probe past the tombstone and the
 * released slot of the first, and only a released slot is reused. */
static void test_probe_past_tombstones(void **state)
{
	(void)state;
	enum { MAX = 8, CAPACITY = 16 };
	struct flow_table *table = flow_table_create(MAX);
	struct flow_key keys[4];
	uint32_t home = colliding_keys(CAPACITY, keys, 4);

	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(flow_table_insert(table, &keys[i], i), 0);

	int slot0 = flow_table_remove(table, &keys[0]);
	assert_int_equal(slot0, (int)home);
	assert_int_equal(lookup(table, &keys[1]), 1);
	assert_int_equal(lookup(table, &keys[2]), 2);

	/* Not reused while a tombstone: the new key goes after the others. */
	assert_int_equal(flow_table_insert(table, &keys[3], 3), 0);
	int slot3 = flow_table_remove(table, &keys[3]);
	assert_int_equal(slot3, (int)((home + 3) % CAPACITY));

	flow_table_release_slot(table, (uint32_t)slot0);
	assert_int_equal(lookup(table, &keys[1]), 1);
	assert_int_equal(lookup(table, &keys[2]), 2);
	assert_int_equal(lookup(table, &keys[0]), -1);

	/* Released: the next insert of that home takes it. */
	assert_int_equal(flow_table_insert(table, &keys[0], 7), 0);
	assert_int_equal(lookup(table, &keys[0]), 7);
	assert_int_equal(flow_table_remove(table, &keys[0]), slot0);

	/* Releasing the whole run empties it; everything still works. */
	flow_table_release_slot(table, (uint32_t)slot0);
	flow_table_release_slot(table, (uint32_t)slot3);
	assert_int_equal(lookup(table, &keys[1]), 1);
	assert_int_equal(lookup(table, &keys[2]), 2);
	int slot1 = flow_table_remove(table, &keys[1]);
	int slot2 = flow_table_remove(table, &keys[2]);
	flow_table_release_slot(table, (uint32_t)slot1);
	flow_table_release_slot(table, (uint32_t)slot2);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(lookup(table, &keys[i]), -1);
	assert_int_equal(flow_table_insert(table, &keys[2], 2), 0);
	assert_int_equal(flow_table_remove(table, &keys[2]), (int)home);

	/* Out-of-range and non-tombstone releases are ignored. */
	flow_table_release_slot(table, UINT32_MAX);
	flow_table_release_slot(table, CAPACITY);
	flow_table_destroy(table);
}

static void test_many_keys(void **state)
{
	(void)state;
	enum { MAX = 50000 };
	struct flow_table *table = flow_table_create(MAX);
	static int slots[MAX];

	for (uint32_t i = 0; i < MAX; i++) {
		struct flow_key key = key_of(i);
		assert_int_equal(flow_table_insert(table, &key, MAX - 1 - i), 0);
	}
	for (uint32_t i = 0; i < MAX; i++) {
		struct flow_key key = key_of(i);
		flow_table_prefetch(table, flow_key_hash(&key));
		assert_int_equal(lookup(table, &key), MAX - 1 - i);
	}
	for (uint32_t i = MAX; i < 2 * MAX; i++) {
		struct flow_key key = key_of(i);
		assert_int_equal(lookup(table, &key), -1);
	}
	for (uint32_t i = 0; i < MAX; i += 2) {
		struct flow_key key = key_of(i);
		slots[i] = flow_table_remove(table, &key);
		assert_true(slots[i] >= 0);
	}
	for (uint32_t i = 0; i < MAX; i++) {
		struct flow_key key = key_of(i);
		int64_t expected = i % 2 ? (int64_t)(MAX - 1 - i) : -1;
		assert_int_equal(lookup(table, &key), expected);
	}
	for (uint32_t i = 0; i < MAX; i += 2)
		flow_table_release_slot(table, (uint32_t)slots[i]);
	for (uint32_t i = 0; i < MAX; i += 2) {
		struct flow_key key = key_of(i + 2 * MAX);
		assert_int_equal(flow_table_insert(table, &key, i), 0);
	}
	for (uint32_t i = 0; i < MAX; i++) {
		struct flow_key key = key_of(i % 2 ? i : i + 2 * MAX);
		assert_int_equal(lookup(table, &key), i % 2 ? MAX - 1 - i : i);
	}
	flow_table_destroy(table);
}

/* Random inserts, removes and releases against a model of which keys are
 * present; the table's answers must match the model exactly. */
static void test_random_against_model(void **state)
{
	(void)state;
	enum { MAX = 64, KEYS = 256, OPS = 200000, PENDING = 16 };
	struct flow_table *table = flow_table_create(MAX);
	int64_t model[KEYS];
	uint32_t pending[PENDING];
	unsigned pending_count = 0, live = 0;
	struct test_rand rand = test_rand_seed(42);

	for (unsigned k = 0; k < KEYS; k++)
		model[k] = -1;
	for (unsigned op = 0; op < OPS; op++) {
		uint32_t k = test_rand_below(&rand, KEYS);
		struct flow_key key = key_of(k);
		switch (test_rand_below(&rand, 3)) {
		case 0: {
			uint32_t id = test_rand_below(&rand, MAX);
			int ret = flow_table_insert(table, &key, id);
			if (model[k] >= 0) {
				assert_int_equal(ret, -EEXIST);
			} else if (live == MAX) {
				assert_int_equal(ret, -ENOSPC);
			} else {
				/* Live keys and pending tombstones leave
				 * most of the 128 slots reusable. */
				assert_int_equal(ret, 0);
				model[k] = id;
				live++;
			}
			break;
		}
		case 1: {
			int ret = flow_table_remove(table, &key);
			if (model[k] < 0) {
				assert_int_equal(ret, -ENOENT);
				break;
			}
			assert_true(ret >= 0);
			model[k] = -1;
			live--;
			if (pending_count == PENDING) {
				flow_table_release_slot(table, pending[0]);
				memmove(pending, pending + 1,
					sizeof(pending[0]) * (PENDING - 1));
				pending_count--;
			}
			pending[pending_count++] = (uint32_t)ret;
			break;
		}
		default:
			assert_int_equal(lookup(table, &key), model[k]);
			break;
		}
	}
	for (unsigned k = 0; k < KEYS; k++) {
		struct flow_key key = key_of(k);
		assert_int_equal(lookup(table, &key), model[k]);
	}
	flow_table_destroy(table);
}

/*
 * One reader thread against the writer.  Flow ids are a function of the
 * key, so a lookup that returns anything but that id or -1 has read a
 * torn or stale slot; the "stable" keys are never removed, so a lookup
 * that misses one has stopped probing too early.  Slots are released only
 * after the reader has finished the lookup it was in when they were
 * removed (its epoch moved on), as the slow path's grace period does.
 */
enum { CONC_MAX = 512, CONC_STABLE = 64, CONC_KEYS = 2048, CONC_ROUNDS = 3000 };

struct reader_shared {
	struct flow_table *table;
	uint64_t epoch;
	int stop;
	uint64_t lookups;
	uint64_t wrong_ids;
	uint64_t stable_misses;
};

static uint32_t conc_id_of(uint32_t k)
{
	return k < CONC_STABLE ? k : CONC_STABLE + k % (CONC_MAX - CONC_STABLE);
}

static void *reader_main(void *arg)
{
	struct reader_shared *shared = arg;
	struct test_rand rand = test_rand_seed(7);

	while (!__atomic_load_n(&shared->stop, __ATOMIC_ACQUIRE)) {
		uint32_t k = test_rand_below(&rand, CONC_KEYS);
		struct flow_key key = key_of(k);
		int64_t id = lookup(shared->table, &key);
		if (id >= 0 && id != conc_id_of(k))
			shared->wrong_ids++;
		if (k < CONC_STABLE && id < 0)
			shared->stable_misses++;
		shared->lookups++;
		__atomic_add_fetch(&shared->epoch, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void wait_for_reader(struct reader_shared *shared)
{
	uint64_t seen = __atomic_load_n(&shared->epoch, __ATOMIC_SEQ_CST);

	while (__atomic_load_n(&shared->epoch, __ATOMIC_SEQ_CST) == seen)
		sched_yield();
}

static void test_concurrent_reader(void **state)
{
	(void)state;
	struct reader_shared shared = { .table = flow_table_create(CONC_MAX) };
	bool present[CONC_KEYS] = { false };
	int32_t slots[CONC_KEYS];
	struct test_rand rand = test_rand_seed(99);
	pthread_t reader;

	for (uint32_t k = 0; k < CONC_STABLE; k++) {
		struct flow_key key = key_of(k);
		assert_int_equal(flow_table_insert(shared.table, &key, conc_id_of(k)), 0);
		present[k] = true;
	}
	assert_int_equal(pthread_create(&reader, NULL, reader_main, &shared), 0);

	for (unsigned round = 0; round < CONC_ROUNDS; round++) {
		uint32_t removed[64];
		unsigned removed_count = 0;

		/* Insert a batch of transient keys. */
		for (unsigned i = 0; i < 64; i++) {
			uint32_t k = CONC_STABLE +
				     test_rand_below(&rand, CONC_KEYS - CONC_STABLE);
			if (present[k])
				continue;
			struct flow_key key = key_of(k);
			int ret = flow_table_insert(shared.table, &key, conc_id_of(k));
			if (ret == 0)
				present[k] = true;
			else
				assert_int_equal(ret, -ENOSPC);
		}
		/* Remove some, then release their slots after a grace period. */
		for (unsigned i = 0; i < 64 && removed_count < 64; i++) {
			uint32_t k = CONC_STABLE +
				     test_rand_below(&rand, CONC_KEYS - CONC_STABLE);
			if (!present[k])
				continue;
			struct flow_key key = key_of(k);
			slots[k] = flow_table_remove(shared.table, &key);
			assert_true(slots[k] >= 0);
			present[k] = false;
			removed[removed_count++] = k;
		}
		wait_for_reader(&shared);
		for (unsigned i = 0; i < removed_count; i++) {
			uint32_t slot = (uint32_t)slots[removed[i]];
			flow_table_release_slot(shared.table, slot);
		}
	}

	__atomic_store_n(&shared.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(reader, NULL), 0);
	assert_true(shared.lookups > 0);
	assert_int_equal(shared.wrong_ids, 0);
	assert_int_equal(shared.stable_misses, 0);
	flow_table_destroy(shared.table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_deterministic_and_spread),
		cmocka_unit_test(test_create_limits),
		cmocka_unit_test(test_insert_lookup_remove),
		cmocka_unit_test(test_invalid_flow_id),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_tombstones_block_until_released),
		cmocka_unit_test(test_probe_past_tombstones),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_concurrent_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

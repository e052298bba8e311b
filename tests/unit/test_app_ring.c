/*
 * Unit tests for the service's side of application rings: interoperation
 * in both directions with DPDK's inline rte_ring_*_elem functions (the
 * application's side), indices wrapping at 2^32, detection of impossible
 * indices, and indifference to garbage in the shared ring header.  No EAL
 * is initialised: rte_ring_init() and the inline ring functions need none.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_ring.h>

#include "app_ring.h"
#include "tas/shm_abi.h"
#include "test_rand.h"

#define MAX_ELEM_WORDS 16
#define MAX_BURST (TAS_EVENT_RING_SIZE + 1)

struct ring_fixture {
	uint8_t *mem;
	uint64_t mem_size;
	struct rte_ring *shared;      /* the application's view */
	struct shm_ring ring;         /* the service's view */
	uint32_t elem_words;
};

static void ring_setup(struct ring_fixture *f, uint32_t size, uint32_t elem_size)
{
	f->mem_size = shm_ring_memsize(size, elem_size);
	assert_true(f->mem_size >= sizeof(struct rte_ring) + (uint64_t)size * elem_size);
	f->mem = aligned_alloc(RTE_CACHE_LINE_SIZE, f->mem_size);
	assert_non_null(f->mem);
	/* Shared memory starts out as whatever the application left there. */
	memset(f->mem, 0xcc, f->mem_size);
	assert_int_equal(shm_ring_create(&f->ring, f->mem, "test_ring", size,
					 elem_size), 0);
	f->shared = (struct rte_ring *)f->mem;
	f->elem_words = elem_size / 4;
	assert_int_equal(f->ring.capacity, size - 1);
	assert_int_equal(rte_ring_get_capacity(f->shared), size - 1);
	assert_true(rte_ring_empty(f->shared));
}

static void ring_teardown(struct ring_fixture *f)
{
	free(f->mem);
}

/* Start both sides at the same arbitrary index, as after 2^32-ish use. */
static void ring_set_indices(struct ring_fixture *f, uint32_t index)
{
	f->shared->prod.head = index;
	f->shared->prod.tail = index;
	f->shared->cons.head = index;
	f->shared->cons.tail = index;
	f->ring.local_idx = index;
}

static uint32_t word_of(uint32_t seq, uint32_t word)
{
	return seq * 0x9e3779b1u + word;
}

static void make_elements(const struct ring_fixture *f, uint32_t *elems,
			  uint32_t first_seq, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (uint32_t w = 0; w < f->elem_words; w++)
			elems[i * f->elem_words + w] = word_of(first_seq + i, w);
}

static void check_elements(const struct ring_fixture *f, const uint32_t *elems,
			   uint32_t first_seq, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (uint32_t w = 0; w < f->elem_words; w++)
			assert_int_equal(elems[i * f->elem_words + w],
					 word_of(first_seq + i, w));
}

static uint32_t elems_buf[MAX_BURST * MAX_ELEM_WORDS];

/* The application produces with rte_ring_enqueue_burst_elem, the service
 * consumes, in bursts of random sizes, until total elements went through. */
static void stream_app_to_service(struct ring_fixture *f, uint32_t total,
				  uint64_t seed)
{
	struct test_rand rand = test_rand_seed(seed);
	uint32_t produced = 0, consumed = 0;
	uint32_t esize = f->elem_words * 4;

	while (consumed < total) {
		unsigned burst = 1 + test_rand_below(&rand, f->ring.size + 1);
		if (burst > total - produced)
			burst = total - produced;
		make_elements(f, elems_buf, produced, burst);
		produced += rte_ring_enqueue_burst_elem(f->shared, elems_buf, esize,
							burst, NULL);
		assert_int_equal(rte_ring_count(f->shared), produced - consumed);

		unsigned take = 1 + test_rand_below(&rand, f->ring.size + 1);
		unsigned got = shm_ring_dequeue_burst(&f->ring, elems_buf, take);
		assert_int_equal(got, RTE_MIN(take, produced - consumed));
		check_elements(f, elems_buf, consumed, got);
		consumed += got;
		assert_int_equal(rte_ring_count(f->shared), produced - consumed);
	}
	assert_false(f->ring.corrupt);
}

/* The service produces, the application consumes with
 * rte_ring_dequeue_burst_elem. */
static void stream_service_to_app(struct ring_fixture *f, uint32_t total,
				  uint64_t seed)
{
	struct test_rand rand = test_rand_seed(seed);
	uint32_t produced = 0, consumed = 0;
	uint32_t esize = f->elem_words * 4;

	while (consumed < total) {
		unsigned burst = 1 + test_rand_below(&rand, f->ring.size + 1);
		if (burst > total - produced)
			burst = total - produced;
		uint32_t free_before = f->ring.capacity - (produced - consumed);
		make_elements(f, elems_buf, produced, burst);
		unsigned put = shm_ring_enqueue_burst(&f->ring, elems_buf, burst);
		assert_int_equal(put, RTE_MIN(burst, free_before));
		produced += put;
		assert_int_equal(rte_ring_count(f->shared), produced - consumed);

		unsigned take = 1 + test_rand_below(&rand, f->ring.size + 1);
		unsigned got = rte_ring_dequeue_burst_elem(f->shared, elems_buf, esize,
							   take, NULL);
		assert_int_equal(got, RTE_MIN(take, produced - consumed));
		check_elements(f, elems_buf, consumed, got);
		consumed += got;
	}
	assert_false(f->ring.corrupt);
}

static void test_memsize_and_create_checks(void **state)
{
	(void)state;
	uint8_t *mem = aligned_alloc(RTE_CACHE_LINE_SIZE, shm_ring_memsize(64, 32) + 64);
	struct shm_ring ring;

	assert_int_equal(shm_ring_memsize(1024, 32) % RTE_CACHE_LINE_SIZE, 0);
	assert_int_equal(shm_ring_memsize(1024, 32),
			 RTE_ALIGN_CEIL(sizeof(struct rte_ring) + 1024 * 32,
					RTE_CACHE_LINE_SIZE));
	assert_int_equal(shm_ring_memsize(1000, 32), 0);
	assert_int_equal(shm_ring_memsize(1024, 6), 0);

	assert_int_equal(shm_ring_create(&ring, mem, "r", 1000, 32), -EINVAL);
	assert_int_equal(shm_ring_create(&ring, mem, "r", 1, 32), -EINVAL);
	assert_int_equal(shm_ring_create(&ring, mem, "r", 64, 6), -EINVAL);
	assert_int_equal(shm_ring_create(&ring, mem, "r", 64, 0), -EINVAL);
	assert_int_equal(shm_ring_create(&ring, mem + 8, "r", 64, 32), -EINVAL);
	assert_int_equal(shm_ring_create(&ring, mem,
					 "a ring name far too long for rte_ring", 64, 32),
			 -ENAMETOOLONG);
	assert_int_equal(shm_ring_create(&ring, mem, "r", 64, 32), 0);
	assert_ptr_equal(ring.base, mem);
	assert_int_equal(ring.size, 64);
	assert_int_equal(ring.mask, 63);
	assert_int_equal(ring.capacity, 63);
	assert_int_equal(ring.elem_size, 32);
	assert_int_equal(ring.local_idx, 0);
	assert_false(ring.corrupt);
	free(mem);
}

static void test_app_to_service(void **state)
{
	(void)state;
	const uint32_t elem_sizes[] = { 4, 12, sizeof(struct tas_app_cmd), 64 };

	for (size_t i = 0; i < sizeof(elem_sizes) / sizeof(elem_sizes[0]); i++) {
		struct ring_fixture f;
		ring_setup(&f, 64, elem_sizes[i]);
		stream_app_to_service(&f, 64 * 50, i + 1);
		ring_teardown(&f);
	}
	struct ring_fixture f;
	ring_setup(&f, TAS_CMD_RING_SIZE, sizeof(struct tas_app_cmd));
	stream_app_to_service(&f, TAS_CMD_RING_SIZE * 20, 11);
	ring_teardown(&f);
}

static void test_service_to_app(void **state)
{
	(void)state;
	const uint32_t elem_sizes[] = { 4, 12, 32, sizeof(struct tas_app_event) };

	for (size_t i = 0; i < sizeof(elem_sizes) / sizeof(elem_sizes[0]); i++) {
		struct ring_fixture f;
		ring_setup(&f, 64, elem_sizes[i]);
		stream_service_to_app(&f, 64 * 50, i + 21);
		ring_teardown(&f);
	}
	struct ring_fixture f;
	ring_setup(&f, TAS_EVENT_RING_SIZE, sizeof(struct tas_app_event));
	stream_service_to_app(&f, TAS_EVENT_RING_SIZE * 5, 31);
	ring_teardown(&f);
}

static void test_full_and_empty(void **state)
{
	(void)state;
	struct ring_fixture f;
	const uint32_t esize = 32;
	ring_setup(&f, 16, esize);

	assert_int_equal(shm_ring_dequeue_burst(&f.ring, elems_buf, 16), 0);
	make_elements(&f, elems_buf, 0, 16);
	assert_int_equal(rte_ring_enqueue_burst_elem(f.shared, elems_buf, esize, 16,
						     NULL), 15);
	assert_true(rte_ring_full(f.shared));
	assert_int_equal(shm_ring_dequeue_burst(&f.ring, elems_buf, 16), 15);
	check_elements(&f, elems_buf, 0, 15);
	assert_true(rte_ring_empty(f.shared));
	ring_teardown(&f);

	ring_setup(&f, 16, esize);
	make_elements(&f, elems_buf, 0, 16);
	assert_int_equal(shm_ring_enqueue_burst(&f.ring, elems_buf, 16), 15);
	assert_true(rte_ring_full(f.shared));
	assert_int_equal(shm_ring_enqueue_burst(&f.ring, elems_buf, 1), 0);
	assert_int_equal(rte_ring_dequeue_burst_elem(f.shared, elems_buf, esize, 4,
						     NULL), 4);
	check_elements(&f, elems_buf, 0, 4);
	make_elements(&f, elems_buf, 15, 5);
	assert_int_equal(shm_ring_enqueue_burst(&f.ring, elems_buf, 5), 4);
	assert_int_equal(rte_ring_dequeue_burst_elem(f.shared, elems_buf, esize, 16,
						     NULL), 15);
	check_elements(&f, elems_buf, 4, 15);
	assert_false(f.ring.corrupt);
	ring_teardown(&f);
}

static void test_indices_wrap_at_2_32(void **state)
{
	(void)state;
	const uint32_t starts[] = { 0xffffffffu - 100, 0xffffffffu, 0x7fffffffu };

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		struct ring_fixture f;
		ring_setup(&f, 64, 32);
		ring_set_indices(&f, starts[i]);
		stream_app_to_service(&f, 64 * 10, i + 41);
		assert_true(f.ring.local_idx - starts[i] == 64 * 10);
		ring_teardown(&f);

		ring_setup(&f, 64, 64);
		ring_set_indices(&f, starts[i]);
		stream_service_to_app(&f, 64 * 10, i + 51);
		ring_teardown(&f);
	}
}

static void test_corrupt_producer_index(void **state)
{
	(void)state;
	struct ring_fixture f;
	const uint32_t base = 0xfffffff0u;
	const uint32_t bad_tails[] = {
		base + 64,          /* capacity + 1 ahead */
		base - 1,           /* behind what the service consumed */
		base + 0x80000000u,
	};

	for (size_t i = 0; i < sizeof(bad_tails) / sizeof(bad_tails[0]); i++) {
		ring_setup(&f, 64, 32);
		ring_set_indices(&f, base);
		f.shared->prod.tail = bad_tails[i];
		assert_int_equal(shm_ring_dequeue_burst(&f.ring, elems_buf, 8), 0);
		assert_true(f.ring.corrupt);
		assert_int_equal(f.ring.local_idx, base);
		assert_int_equal(f.shared->cons.tail, base);
		/* Once corrupt, always corrupt. */
		f.shared->prod.tail = base + 1;
		assert_int_equal(shm_ring_dequeue_burst(&f.ring, elems_buf, 8), 0);
		ring_teardown(&f);
	}

	/* Exactly full is legitimate. */
	ring_setup(&f, 64, 32);
	ring_set_indices(&f, base);
	f.shared->prod.tail = base + 63;
	assert_int_equal(shm_ring_dequeue_burst(&f.ring, elems_buf, 100), 63);
	assert_false(f.ring.corrupt);
	ring_teardown(&f);
}

static void test_corrupt_consumer_index(void **state)
{
	(void)state;
	struct ring_fixture f;
	const uint32_t base = 5;
	const uint32_t bad_tails[] = {
		base + 1,           /* consumed what was never produced */
		base - 64,          /* capacity + 1 behind */
		base + 0x80000000u,
	};

	for (size_t i = 0; i < sizeof(bad_tails) / sizeof(bad_tails[0]); i++) {
		ring_setup(&f, 64, 32);
		ring_set_indices(&f, base);
		f.shared->cons.tail = bad_tails[i];
		make_elements(&f, elems_buf, 0, 1);
		assert_int_equal(shm_ring_enqueue_burst(&f.ring, elems_buf, 1), 0);
		assert_true(f.ring.corrupt);
		assert_int_equal(f.shared->prod.tail, base);
		f.shared->cons.tail = base;
		assert_int_equal(shm_ring_enqueue_burst(&f.ring, elems_buf, 1), 0);
		ring_teardown(&f);
	}

	/* capacity behind: full, not corrupt. */
	ring_setup(&f, 64, 32);
	ring_set_indices(&f, base);
	f.shared->cons.tail = base - 63;
	assert_int_equal(shm_ring_enqueue_burst(&f.ring, elems_buf, 1), 0);
	assert_false(f.ring.corrupt);
	ring_teardown(&f);
}

/* Garbage over the header's geometry (and the indices the service does
 * not own or read) must not change where the service reads and writes:
 * the buffers are exactly the ring's size, so a stray access is caught by
 * the address sanitizer. */
static void scribble_header(struct rte_ring *shared)
{
	memset(shared->name, 0xff, sizeof(shared->name));
	shared->flags = -1;
	shared->size = 0xffffffffu;
	shared->mask = 0xffffffffu;
	shared->capacity = 0xffffffffu;
}

static void test_garbage_header_geometry(void **state)
{
	(void)state;
	struct ring_fixture f;
	const uint32_t esize = 32;

	/* Commands: the application enqueues, then trashes the header. */
	ring_setup(&f, 16, esize);
	ring_set_indices(&f, 0xfffffff8u);
	make_elements(&f, elems_buf, 0, 12);
	assert_int_equal(rte_ring_enqueue_burst_elem(f.shared, elems_buf, esize, 12,
						     NULL), 12);
	scribble_header(f.shared);
	f.shared->prod.head = 0x12345678u;
	assert_int_equal(shm_ring_dequeue_burst(&f.ring, elems_buf, 16), 12);
	check_elements(&f, elems_buf, 0, 12);
	assert_false(f.ring.corrupt);
	ring_teardown(&f);

	/* Events: the service enqueues under a trashed header; with the
	 * header restored the application reads them back intact. */
	ring_setup(&f, 16, esize);
	ring_set_indices(&f, 0xfffffff8u);
	struct rte_ring saved = *f.shared;
	scribble_header(f.shared);
	f.shared->cons.head = 0x12345678u;
	make_elements(&f, elems_buf, 0, 20);
	assert_int_equal(shm_ring_enqueue_burst(&f.ring, elems_buf, 20), 15);
	assert_false(f.ring.corrupt);
	saved.prod = f.shared->prod;
	*f.shared = saved;
	assert_int_equal(rte_ring_dequeue_burst_elem(f.shared, elems_buf, esize, 20,
						     NULL), 15);
	check_elements(&f, elems_buf, 0, 15);
	ring_teardown(&f);
}

/* Both sides at once on two threads, as in the running system. */
enum { CONC_TOTAL = 300000 };

struct concurrent_run {
	struct ring_fixture *fixture;
	uint32_t errors;
};

static void *app_producer_main(void *arg)
{
	struct concurrent_run *run = arg;
	struct ring_fixture *f = run->fixture;
	uint32_t elems[32 * MAX_ELEM_WORDS];
	uint32_t produced = 0;

	while (produced < CONC_TOTAL) {
		unsigned burst = RTE_MIN(32u, CONC_TOTAL - produced);
		make_elements(f, elems, produced, burst);
		unsigned n = rte_ring_enqueue_burst_elem(f->shared, elems,
							 f->elem_words * 4, burst, NULL);
		produced += n;
		if (n == 0)
			sched_yield();
	}
	return NULL;
}

static void *app_consumer_main(void *arg)
{
	struct concurrent_run *run = arg;
	struct ring_fixture *f = run->fixture;
	uint32_t elems[32 * MAX_ELEM_WORDS];
	uint32_t consumed = 0;

	while (consumed < CONC_TOTAL) {
		unsigned n = rte_ring_dequeue_burst_elem(f->shared, elems,
							 f->elem_words * 4, 32, NULL);
		for (unsigned i = 0; i < n; i++) {
			const uint32_t *elem = elems + i * f->elem_words;
			for (uint32_t w = 0; w < f->elem_words; w++)
				run->errors += elem[w] != word_of(consumed + i, w);
		}
		consumed += n;
		if (n == 0)
			sched_yield();
	}
	return NULL;
}

static void test_concurrent_app_to_service(void **state)
{
	(void)state;
	struct ring_fixture f;
	struct concurrent_run run = { .fixture = &f };
	pthread_t app;
	uint32_t consumed = 0;

	ring_setup(&f, TAS_CMD_RING_SIZE, sizeof(struct tas_app_cmd));
	ring_set_indices(&f, 0xffff0000u);
	assert_int_equal(pthread_create(&app, NULL, app_producer_main, &run), 0);
	while (consumed < CONC_TOTAL) {
		unsigned n = shm_ring_dequeue_burst(&f.ring, elems_buf, 32);
		check_elements(&f, elems_buf, consumed, n);
		consumed += n;
		if (n == 0)
			sched_yield();
	}
	assert_int_equal(pthread_join(app, NULL), 0);
	assert_false(f.ring.corrupt);
	ring_teardown(&f);
}

static void test_concurrent_service_to_app(void **state)
{
	(void)state;
	struct ring_fixture f;
	struct concurrent_run run = { .fixture = &f };
	pthread_t app;
	uint32_t produced = 0;

	ring_setup(&f, TAS_EVENT_RING_SIZE, sizeof(struct tas_app_event));
	ring_set_indices(&f, 0xffff0000u);
	assert_int_equal(pthread_create(&app, NULL, app_consumer_main, &run), 0);
	while (produced < CONC_TOTAL) {
		unsigned burst = RTE_MIN(32u, CONC_TOTAL - produced);
		make_elements(&f, elems_buf, produced, burst);
		unsigned n = shm_ring_enqueue_burst(&f.ring, elems_buf, burst);
		produced += n;
		if (n == 0)
			sched_yield();
	}
	assert_int_equal(pthread_join(app, NULL), 0);
	assert_int_equal(run.errors, 0);
	assert_false(f.ring.corrupt);
	ring_teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memsize_and_create_checks),
		cmocka_unit_test(test_app_to_service),
		cmocka_unit_test(test_service_to_app),
		cmocka_unit_test(test_full_and_empty),
		cmocka_unit_test(test_indices_wrap_at_2_32),
		cmocka_unit_test(test_corrupt_producer_index),
		cmocka_unit_test(test_corrupt_consumer_index),
		cmocka_unit_test(test_garbage_header_geometry),
		cmocka_unit_test(test_concurrent_app_to_service),
		cmocka_unit_test(test_concurrent_service_to_app),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

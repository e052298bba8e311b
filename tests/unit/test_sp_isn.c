/*
 * Unit tests for the slow path's SipHash-2-4 (reference vectors from the
 * SipHash paper's implementation), RFC 6528 initial sequence numbers and
 * RFC 6056 port offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "isn.h"
#include "test_rand.h"

/* Key 00 01 .. 0f, as in the paper. */
static const struct siphash_key paper_key = {
	.k0 = 0x0706050403020100ull,
	.k1 = 0x0f0e0d0c0b0a0908ull,
};

static void test_siphash_reference_vectors(void **state)
{
	(void)state;
	/* SipHash-2-4 of the messages 00, 00 01, ... (length n). */
	static const struct {
		size_t len;
		uint64_t hash;
	} vectors[] = {
		{ 0, 0x726fdb47dd0e0e31ull },  { 1, 0x74f839c593dc67fdull },
		{ 2, 0x0d6c8009d9a94f5aull },  { 3, 0x85676696d7fb7e2dull },
		{ 7, 0xab0200f58b01d137ull },  { 8, 0x93f5f5799a932462ull },
		{ 15, 0xa129ca6149be45e5ull }, { 63, 0x958a324ceb064572ull },
	};
	uint8_t message[64];

	for (unsigned i = 0; i < sizeof(message); i++)
		message[i] = (uint8_t)i;
	for (unsigned i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		assert_true(siphash24(&paper_key, message, vectors[i].len) ==
			    vectors[i].hash);
}

static struct flow_key tuple(uint32_t local_ip, uint16_t local_port,
			     uint32_t remote_ip, uint16_t remote_port)
{
	return (struct flow_key){
		.local_ip = local_ip,
		.remote_ip = remote_ip,
		.local_port = local_port,
		.remote_port = remote_port,
	};
}

/* RFC 6528 section 3: M is a 4 us timer; for one 4-tuple the ISN grows
 * by one every 4 us, wrapping modulo 2^32. */
static void test_isn_follows_the_4us_clock(void **state)
{
	(void)state;
	struct flow_key key = tuple(0x0100000a, 80, 0x0200000a, 40000);
	uint64_t start = 4 * 30864197ull;  /* on a tick */
	uint32_t base = isn_generate(&paper_key, &key, start);

	assert_int_equal(isn_generate(&paper_key, &key, start + 3), base);
	assert_int_equal(isn_generate(&paper_key, &key, start + 4), base + 1);
	assert_int_equal(isn_generate(&paper_key, &key, start + 4000000),
			 base + 1000000);
	/* One full wrap of the 32-bit clock: 2^32 ticks of 4 us. */
	assert_int_equal(isn_generate(&paper_key, &key, start + (4ull << 32)),
			 base);
}

/* F differs between 4-tuples (an attacker's own connection tells nothing
 * about another's ISN) and between secrets. */
static void test_isn_depends_on_tuple_and_secret(void **state)
{
	(void)state;
	struct test_rand rand = test_rand_seed(6528);
	struct flow_key base = tuple(0x0100000a, 80, 0x0200000a, 40000);
	uint32_t base_isn = isn_generate(&paper_key, &base, 0);
	unsigned equal = 0;

	for (unsigned i = 0; i < 10000; i++) {
		struct flow_key other = base;
		switch (i % 4) {
		case 0:
			other.remote_port = (uint16_t)test_rand_next(&rand);
			break;
		case 1:
			other.remote_ip = (uint32_t)test_rand_next(&rand);
			break;
		case 2:
			other.local_port = (uint16_t)test_rand_next(&rand);
			break;
		default:
			other.local_ip = (uint32_t)test_rand_next(&rand);
		}
		if (other.local_ip == base.local_ip && other.remote_ip == base.remote_ip &&
		    other.local_port == base.local_port &&
		    other.remote_port == base.remote_port)
			continue;
		if (isn_generate(&paper_key, &other, 0) == base_isn)
			equal++;
	}
	assert_true(equal <= 1);

	struct siphash_key other_secret = paper_key;
	other_secret.k1 ^= 1;
	assert_int_not_equal(isn_generate(&other_secret, &base, 0), base_isn);
}

/* Swapping the ends gives another tuple, hence another ISN. */
static void test_isn_direction_matters(void **state)
{
	(void)state;
	struct flow_key forward = tuple(0x0100000a, 80, 0x0200000a, 40000);
	struct flow_key backward = tuple(0x0200000a, 40000, 0x0100000a, 80);

	assert_int_not_equal(isn_generate(&paper_key, &forward, 0),
			     isn_generate(&paper_key, &backward, 0));
}

static void test_random_secrets_differ(void **state)
{
	(void)state;
	struct siphash_key a, b;

	assert_int_equal(siphash_key_random(&a), 0);
	assert_int_equal(siphash_key_random(&b), 0);
	assert_false(a.k0 == b.k0 && a.k1 == b.k1);
}

static void test_port_offset_per_destination(void **state)
{
	(void)state;
	uint32_t to_a = ephemeral_port_offset(&paper_key, 1, 2, 80);

	assert_int_equal(ephemeral_port_offset(&paper_key, 1, 2, 80), to_a);
	assert_int_not_equal(ephemeral_port_offset(&paper_key, 1, 3, 80), to_a);
	assert_int_not_equal(ephemeral_port_offset(&paper_key, 1, 2, 81), to_a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_reference_vectors),
		cmocka_unit_test(test_isn_follows_the_4us_clock),
		cmocka_unit_test(test_isn_depends_on_tuple_and_secret),
		cmocka_unit_test(test_isn_direction_matters),
		cmocka_unit_test(test_random_secrets_differ),
		cmocka_unit_test(test_port_offset_per_destination),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

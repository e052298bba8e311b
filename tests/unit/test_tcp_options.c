/*
 * Unit tests for TCP option parsing and writing (RFC 9293, RFC 7323,
 * RFC 2018): every option, every malformation the parser must refuse, a
 * fuzz loop over random buffers, and SYN and timestamp options written
 * and parsed back.  Buffers under test live in heap blocks of exactly
 * their length so that the address sanitizer catches any overread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcp_options.h"
#include "test_rand.h"

#define FUZZ_BUFFERS 100000
#define FUZZ_MAX_LEN 60

/* Parse a copy of bytes[len] held in a block of exactly len bytes. */
static int parse_exact(const uint8_t *bytes, unsigned len, struct tcp_options *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, bytes, len);
	int ret = tcp_options_parse(copy, len, out);
	free(copy);
	return ret;
}

#define PARSE(out, ...)                                                        \
	parse_exact((const uint8_t[]){ __VA_ARGS__ },                          \
		    sizeof((const uint8_t[]){ __VA_ARGS__ }), (out))

static void test_empty_and_padding(void **state)
{
	(void)state;
	struct tcp_options opts;

	memset(&opts, 0xff, sizeof(opts));
	assert_int_equal(parse_exact((const uint8_t[]){ 0 }, 0, &opts), 0);
	assert_false(opts.has_mss || opts.has_wscale || opts.sack_permitted ||
		     opts.has_timestamp || opts.has_unknown);
	assert_int_equal(opts.sack_count, 0);

	assert_int_equal(PARSE(&opts, 1, 1, 1, 1), 0);
	assert_false(opts.has_mss || opts.has_unknown);
	assert_int_equal(PARSE(&opts, 0), 0);
	/* Anything after EOL is padding, even garbage. */
	assert_int_equal(PARSE(&opts, 2, 4, 0x05, 0xb4, 0, 0xff, 0x01, 0x02), 0);
	assert_true(opts.has_mss);
	assert_int_equal(opts.mss, 1460);
	assert_false(opts.has_unknown);
}

static void test_each_option(void **state)
{
	(void)state;
	struct tcp_options opts;

	assert_int_equal(PARSE(&opts, 2, 4, 0x23, 0x28), 0);
	assert_true(opts.has_mss);
	assert_int_equal(opts.mss, 9000);

	assert_int_equal(PARSE(&opts, 1, 3, 3, 7), 0);
	assert_true(opts.has_wscale);
	assert_int_equal(opts.wscale, 7);
	assert_int_equal(PARSE(&opts, 3, 3, 0, 1), 0);
	assert_true(opts.has_wscale);
	assert_int_equal(opts.wscale, 0);

	assert_int_equal(PARSE(&opts, 1, 1, 4, 2), 0);
	assert_true(opts.sack_permitted);

	assert_int_equal(PARSE(&opts, 1, 1, 8, 10, 0x01, 0x02, 0x03, 0x04,
			       0xfe, 0xdc, 0xba, 0x98), 0);
	assert_true(opts.has_timestamp);
	assert_int_equal(opts.ts_val, 0x01020304);
	assert_int_equal(opts.ts_ecr, 0xfedcba98);

	assert_int_equal(PARSE(&opts, 1, 1, 5, 10, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff),
			 0);
	assert_int_equal(opts.sack_count, 1);
	assert_int_equal(opts.sack[0].start, 1);
	assert_int_equal(opts.sack[0].end, 0xffffffff);

	/* Four blocks: the most that fit in 40 bytes of options. */
	uint8_t four[34] = { 5, 34 };
	for (unsigned i = 0; i < 32; i++)
		four[2 + i] = (uint8_t)i;
	assert_int_equal(parse_exact(four, sizeof(four), &opts), 0);
	assert_int_equal(opts.sack_count, 4);
	assert_int_equal(opts.sack[3].start, 0x18191a1b);
	assert_int_equal(opts.sack[3].end, 0x1c1d1e1f);

	/* Unknown kinds are skipped by their length and flagged. */
	assert_int_equal(PARSE(&opts, 34, 4, 0xaa, 0xbb, 2, 4, 0x05, 0xb4), 0);
	assert_true(opts.has_unknown);
	assert_true(opts.has_mss);
	assert_int_equal(PARSE(&opts, 254, 2), 0);
	assert_true(opts.has_unknown);
}

/* RFC 7323 section 2.3: a shift above 14 is used as 14. */
static void test_wscale_clamped(void **state)
{
	(void)state;
	struct tcp_options opts;

	for (unsigned shift = 0; shift < 256; shift++) {
		assert_int_equal(PARSE(&opts, 3, 3, (uint8_t)shift), 0);
		assert_int_equal(opts.wscale, shift > 14 ? 14 : shift);
	}
}

/* A Linux SYN: MSS, SACK-permitted, timestamps, NOP, window scale. */
static void test_linux_syn(void **state)
{
	(void)state;
	struct tcp_options opts;

	assert_int_equal(PARSE(&opts, 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 42,
			       0, 0, 0, 0, 1, 3, 3, 7), 0);
	assert_true(opts.has_mss && opts.sack_permitted && opts.has_timestamp &&
		    opts.has_wscale);
	assert_false(opts.has_unknown);
	assert_int_equal(opts.mss, 1460);
	assert_int_equal(opts.ts_val, 42);
	assert_int_equal(opts.ts_ecr, 0);
	assert_int_equal(opts.wscale, 7);
}

static void test_truncated(void **state)
{
	(void)state;
	struct tcp_options opts;
	const uint8_t full[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4,
				 5, 6, 7, 8, 1, 3, 3, 7 };

	/* Every cut inside an option is malformed; cuts between options
	 * (after 4, 6, 16, 17 bytes) are fine. */
	for (unsigned len = 0; len <= sizeof(full); len++) {
		bool at_boundary = len == 0 || len == 4 || len == 6 || len == 16 ||
				   len == 17 || len == sizeof(full);
		assert_int_equal(parse_exact(full, len, &opts), at_boundary ? 0 : -1);
	}
}

static void test_bad_lengths(void **state)
{
	(void)state;
	struct tcp_options opts;

	/* Length below 2 would never advance. */
	assert_int_equal(PARSE(&opts, 2, 0, 0, 0), -1);
	assert_int_equal(PARSE(&opts, 2, 1, 0, 0), -1);
	assert_int_equal(PARSE(&opts, 99, 0), -1);
	assert_int_equal(PARSE(&opts, 99, 1), -1);
	/* Longer than what is left. */
	assert_int_equal(PARSE(&opts, 99, 5, 0, 0), -1);
	assert_int_equal(PARSE(&opts, 1, 1, 99, 255), -1);

	/* Wrong lengths for known kinds. */
	assert_int_equal(PARSE(&opts, 2, 3, 0), -1);
	assert_int_equal(PARSE(&opts, 2, 5, 0, 0, 0), -1);
	assert_int_equal(PARSE(&opts, 3, 2), -1);
	assert_int_equal(PARSE(&opts, 3, 4, 7, 0), -1);
	assert_int_equal(PARSE(&opts, 4, 3, 0), -1);
	assert_int_equal(PARSE(&opts, 8, 9, 0, 0, 0, 0, 0, 0, 0), -1);
	assert_int_equal(PARSE(&opts, 8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0), -1);
	assert_int_equal(PARSE(&opts, 5, 2), -1);
	assert_int_equal(PARSE(&opts, 5, 9, 0, 0, 0, 0, 0, 0, 0), -1);
	assert_int_equal(PARSE(&opts, 5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0), -1);

	/* Five SACK blocks cannot come from a valid header. */
	uint8_t five[42] = { 5, 42 };
	assert_int_equal(parse_exact(five, sizeof(five), &opts), -1);
}

static void check_parsed_invariants(const struct tcp_options *opts)
{
	assert_true(opts->sack_count <= TCP_MAX_SACK_BLOCKS);
	assert_true(opts->wscale <= TCP_MAX_WSCALE);
}

/* Random bytes, and random sequences of plausible options, in buffers of
 * exactly their size: parse must return 0 or -1 and never read outside. */
static void test_fuzz(void **state)
{
	(void)state;
	static const uint8_t kinds[] = { 0, 1, 2, 3, 4, 5, 8, 19, 30, 34, 255 };
	struct test_rand rand = test_rand_seed(2024);
	uint8_t bytes[FUZZ_MAX_LEN];
	unsigned accepted = 0;

	for (unsigned i = 0; i < FUZZ_BUFFERS; i++) {
		unsigned len = test_rand_below(&rand, FUZZ_MAX_LEN + 1);
		if (i % 2) {
			for (unsigned j = 0; j < len; j++)
				bytes[j] = (uint8_t)test_rand_next(&rand);
		} else {
			/* Known kinds with lengths near the right ones. */
			for (unsigned j = 0; j < len; j += 2) {
				bytes[j] = kinds[test_rand_below(&rand, sizeof(kinds))];
				if (j + 1 < len)
					bytes[j + 1] = (uint8_t)test_rand_below(&rand, 12);
			}
		}
		uint8_t *copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, bytes, len);

		struct tcp_options opts;
		int ret = tcp_options_parse(copy, len, &opts);
		assert_true(ret == 0 || ret == -1);
		if (ret == 0) {
			check_parsed_invariants(&opts);
			accepted++;
		}
		uint32_t ts_val, ts_ecr;
		(void)tcp_options_is_timestamp_only(copy, len, &ts_val, &ts_ecr);
		free(copy);
	}
	/* The structured half must reach the option handlers. */
	assert_true(accepted > FUZZ_BUFFERS / 100);
}

static void test_write_syn_round_trip(void **state)
{
	(void)state;

	for (unsigned combo = 0; combo < 16; combo++) {
		const struct tcp_syn_options written = {
			.has_mss = combo & 1,
			.has_wscale = combo & 2,
			.sack_permitted = combo & 4,
			.has_timestamp = combo & 8,
			.mss = (uint16_t)(1000 + combo),
			.wscale = (uint8_t)(combo % 15),
			.ts_val = 0x80000000u + combo,
			.ts_ecr = 0xdeadbeefu,
		};
		uint8_t *buf = malloc(TCP_SYN_OPTIONS_MAX);
		assert_non_null(buf);
		memset(buf, 0xee, TCP_SYN_OPTIONS_MAX);

		unsigned len = tcp_options_write_syn(buf, &written);
		assert_int_equal(len % 4, 0);
		assert_true(len <= TCP_SYN_OPTIONS_MAX);
		assert_int_equal(len == 0, combo == 0);

		struct tcp_options parsed;
		assert_int_equal(tcp_options_parse(buf, len, &parsed), 0);
		assert_int_equal(parsed.has_mss, written.has_mss);
		assert_int_equal(parsed.has_wscale, written.has_wscale);
		assert_int_equal(parsed.sack_permitted, written.sack_permitted);
		assert_int_equal(parsed.has_timestamp, written.has_timestamp);
		assert_false(parsed.has_unknown);
		assert_int_equal(parsed.sack_count, 0);
		if (written.has_mss)
			assert_int_equal(parsed.mss, written.mss);
		if (written.has_wscale)
			assert_int_equal(parsed.wscale, written.wscale);
		if (written.has_timestamp) {
			assert_int_equal(parsed.ts_val, written.ts_val);
			assert_int_equal(parsed.ts_ecr, written.ts_ecr);
		}
		free(buf);
	}
}

static void test_write_syn_layout(void **state)
{
	(void)state;
	const struct tcp_syn_options all = {
		.has_mss = true, .has_wscale = true, .sack_permitted = true,
		.has_timestamp = true, .mss = 1460, .wscale = 9,
		.ts_val = 0x01020304, .ts_ecr = 0,
	};
	const uint8_t expected[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4,
				     0, 0, 0, 0, 1, 3, 3, 9 };
	uint8_t buf[TCP_SYN_OPTIONS_MAX];

	assert_int_equal(tcp_options_write_syn(buf, &all), sizeof(expected));
	assert_memory_equal(buf, expected, sizeof(expected));
}

static void test_timestamp_fast_path(void **state)
{
	(void)state;
	uint8_t *buf = malloc(TCP_TS_OPTIONS_LEN);
	const uint8_t expected[] = { 1, 1, 8, 10, 0xca, 0xfe, 0xba, 0xbe,
				     0x00, 0x00, 0x00, 0x07 };
	uint32_t ts_val = 0, ts_ecr = 0;
	assert_non_null(buf);

	tcp_options_write_timestamp(buf, 0xcafebabe, 7);
	assert_memory_equal(buf, expected, sizeof(expected));
	assert_true(tcp_options_is_timestamp_only(buf, TCP_TS_OPTIONS_LEN,
						  &ts_val, &ts_ecr));
	assert_int_equal(ts_val, 0xcafebabe);
	assert_int_equal(ts_ecr, 7);

	struct tcp_options parsed;
	assert_int_equal(tcp_options_parse(buf, TCP_TS_OPTIONS_LEN, &parsed), 0);
	assert_true(parsed.has_timestamp);
	assert_int_equal(parsed.ts_val, 0xcafebabe);
	free(buf);

	/* Anything but exactly NOP NOP TS takes the slow way. */
	const uint8_t ts_then_nops[] = { 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1 };
	const uint8_t wrong_length[] = { 1, 1, 8, 11, 0, 0, 0, 1, 0, 0, 0, 2 };
	const uint8_t eol_padding[] = { 0, 0, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
	assert_false(tcp_options_is_timestamp_only(ts_then_nops, 12, &ts_val, &ts_ecr));
	assert_false(tcp_options_is_timestamp_only(wrong_length, 12, &ts_val, &ts_ecr));
	assert_false(tcp_options_is_timestamp_only(eol_padding, 12, &ts_val, &ts_ecr));
	assert_false(tcp_options_is_timestamp_only(expected, 10, &ts_val, &ts_ecr));
	assert_false(tcp_options_is_timestamp_only(expected, 0, &ts_val, &ts_ecr));
	const uint8_t with_more[16] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 1, 1 };
	assert_false(tcp_options_is_timestamp_only(with_more, 16, &ts_val, &ts_ecr));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_padding),
		cmocka_unit_test(test_each_option),
		cmocka_unit_test(test_wscale_clamped),
		cmocka_unit_test(test_linux_syn),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_write_syn_round_trip),
		cmocka_unit_test(test_write_syn_layout),
		cmocka_unit_test(test_timestamp_fast_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

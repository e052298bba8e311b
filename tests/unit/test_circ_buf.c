/*
 * Unit tests for the circular byte buffers of circ_buf.h: writes and reads
 * that straddle the end of the buffer, and position arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "circ_buf.h"

#define BUF_SIZE 64u

static void fill_pattern(uint8_t *bytes, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		bytes[i] = (uint8_t)(seed + i * 13);
}

static void test_advance_and_contiguous(void **state)
{
	(void)state;

	assert_int_equal(circ_advance(0, 10, BUF_SIZE), 10);
	assert_int_equal(circ_advance(60, 4, BUF_SIZE), 0);
	assert_int_equal(circ_advance(60, 10, BUF_SIZE), 6);
	assert_int_equal(circ_advance(63, BUF_SIZE, BUF_SIZE), 63);

	assert_int_equal(circ_contiguous(0, BUF_SIZE, BUF_SIZE), BUF_SIZE);
	assert_int_equal(circ_contiguous(10, 20, BUF_SIZE), 20);
	assert_int_equal(circ_contiguous(60, 20, BUF_SIZE), 4);
	assert_int_equal(circ_contiguous(63, 1, BUF_SIZE), 1);
	assert_int_equal(circ_contiguous(63, 0, BUF_SIZE), 0);
}

/* Every start position and every length, with the buffer in a heap block
 * of exactly its size so that an overrun is caught by the sanitizer. */
static void test_write_read_every_position(void **state)
{
	(void)state;
	uint8_t *buf = malloc(BUF_SIZE);
	uint8_t src[BUF_SIZE], dst[BUF_SIZE];
	assert_non_null(buf);

	for (uint32_t pos = 0; pos < BUF_SIZE; pos++) {
		for (uint32_t len = 0; len <= BUF_SIZE; len++) {
			memset(buf, 0xee, BUF_SIZE);
			fill_pattern(src, len, (uint8_t)pos);
			circ_write(buf, BUF_SIZE, pos, src, len);

			for (uint32_t i = 0; i < len; i++)
				assert_int_equal(buf[(pos + i) % BUF_SIZE], src[i]);
			for (uint32_t i = len; i < BUF_SIZE; i++)
				assert_int_equal(buf[(pos + i) % BUF_SIZE], 0xee);

			memset(dst, 0, sizeof(dst));
			circ_read(buf, BUF_SIZE, pos, dst, len);
			assert_memory_equal(dst, src, len);
		}
	}
	free(buf);
}

/* A stream written and read in uneven chunks comes out unchanged. */
static void test_stream_through_buffer(void **state)
{
	(void)state;
	uint8_t buf[BUF_SIZE];
	uint8_t stream[4096], out[4096];
	uint32_t write_pos = 0, read_pos = 0, written = 0, read = 0;

	fill_pattern(stream, sizeof(stream), 1);
	while (read < sizeof(stream)) {
		uint32_t room = BUF_SIZE - (written - read);
		uint32_t chunk = 1 + (written * 7 + 5) % BUF_SIZE;
		if (chunk > room)
			chunk = room;
		if (chunk > sizeof(stream) - written)
			chunk = (uint32_t)sizeof(stream) - written;
		circ_write(buf, BUF_SIZE, write_pos, stream + written, chunk);
		write_pos = circ_advance(write_pos, chunk, BUF_SIZE);
		written += chunk;

		uint32_t available = written - read;
		uint32_t take = (read * 3 + 11) % (available + 1);
		if (take == 0)
			take = available;
		circ_read(buf, BUF_SIZE, read_pos, out + read, take);
		read_pos = circ_advance(read_pos, take, BUF_SIZE);
		read += take;
	}
	assert_memory_equal(out, stream, sizeof(stream));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_advance_and_contiguous),
		cmocka_unit_test(test_write_read_every_position),
		cmocka_unit_test(test_stream_through_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#include "pattern.h"

#include <endian.h>
#include <string.h>

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ull

/* splitmix64's output function: every input bit affects every output bit. */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Seeds differing by one must give unrelated streams, so mix the seed
 * before it is combined with the word index. */
static inline uint64_t stream_key(uint64_t seed)
{
	return mix64(seed + GOLDEN_GAMMA);
}

static inline uint64_t pattern_word(uint64_t key, uint64_t word_index)
{
	return htole64(mix64(key + word_index * GOLDEN_GAMMA));
}

static inline uint8_t byte_of_word(uint64_t key, uint64_t offset)
{
	uint64_t word = pattern_word(key, offset / 8);

	return ((const uint8_t *)&word)[offset % 8];
}

uint8_t pattern_byte(uint64_t seed, uint64_t offset)
{
	return byte_of_word(stream_key(seed), offset);
}

void pattern_fill(uint64_t seed, uint64_t offset, void *buf, size_t len)
{
	uint64_t key = stream_key(seed);
	uint8_t *out = buf;
	size_t done = 0;

	for (; done < len && (offset + done) % 8 != 0; done++)
		out[done] = byte_of_word(key, offset + done);
	for (; len - done >= 8; done += 8) {
		uint64_t word = pattern_word(key, (offset + done) / 8);

		memcpy(out + done, &word, 8);
	}
	for (; done < len; done++)
		out[done] = byte_of_word(key, offset + done);
}

size_t pattern_verify(uint64_t seed, uint64_t offset, const void *buf,
		      size_t len)
{
	uint64_t key = stream_key(seed);
	const uint8_t *in = buf;
	size_t done = 0;

	for (; done < len && (offset + done) % 8 != 0; done++)
		if (in[done] != byte_of_word(key, offset + done))
			return done;
	for (; len - done >= 8; done += 8) {
		uint64_t expected = pattern_word(key, (offset + done) / 8);
		uint64_t got;

		memcpy(&got, in + done, 8);
		if (got != expected)
			break;
	}
	for (; done < len; done++)
		if (in[done] != byte_of_word(key, offset + done))
			return done;
	return len;
}

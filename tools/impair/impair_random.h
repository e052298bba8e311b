/*
 * The impairment stage's pseudo-random numbers: xoshiro256** seeded
 * through splitmix64 (Blackman and Vigna), fast and with a 2^256 period,
 * so that each direction has its own reproducible stream.
 */
#ifndef TAS_IMPAIR_RANDOM_H
#define TAS_IMPAIR_RANDOM_H

#include <stdbool.h>
#include <stdint.h>

struct impair_random {
	uint64_t state[4];
};

static inline uint64_t impair_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Stream number stream of seed: different streams of one seed, and the
 * same stream of different seeds, are unrelated sequences. */
static inline void impair_random_seed(struct impair_random *random,
				      uint64_t seed, uint32_t stream)
{
	uint64_t x = seed ^ ((uint64_t)(stream + 1) * 0xd1b54a32d192ed03ull);

	for (int i = 0; i < 4; i++)
		random->state[i] = impair_splitmix64(&x);
}

static inline uint64_t impair_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t impair_random_next(struct impair_random *random)
{
	uint64_t *s = random->state;
	uint64_t result = impair_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = impair_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, bound), bound > 0 (Lemire's multiply-shift: the bias is
 * below 2^-32 for the bounds used here). */
static inline uint64_t impair_random_below(struct impair_random *random,
					   uint64_t bound)
{
	return (uint64_t)(((unsigned __int128)impair_random_next(random) * bound) >> 64);
}

/* True with probability percent / 100; draws nothing when percent <= 0,
 * so a key left out does not shift the other keys' decisions. */
static inline bool impair_random_chance(struct impair_random *random,
					double percent)
{
	if (percent <= 0)
		return false;
	return (double)(impair_random_next(random) >> 11) * 0x1p-53 * 100.0 < percent;
}

#endif /* TAS_IMPAIR_RANDOM_H */

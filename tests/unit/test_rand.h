/*
 * Deterministic pseudo-random numbers for the unit tests (xorshift64*),
 * so that a failing fuzz or model run repeats exactly.
 */
#ifndef TAS_TEST_RAND_H
#define TAS_TEST_RAND_H

#include <stdint.h>

struct test_rand {
	uint64_t state;
};

static inline struct test_rand test_rand_seed(uint64_t seed)
{
	return (struct test_rand){ .state = seed ? seed : 1 };
}

static inline uint64_t test_rand_next(struct test_rand *rand)
{
	rand->state ^= rand->state >> 12;
	rand->state ^= rand->state << 25;
	rand->state ^= rand->state >> 27;
	return rand->state * 0x2545f4914f6cdd1dull;
}

/* Uniform enough in [0, bound) for test purposes; bound > 0. */
static inline uint32_t test_rand_below(struct test_rand *rand, uint32_t bound)
{
	return (uint32_t)((test_rand_next(rand) >> 32) % bound);
}

#endif /* TAS_TEST_RAND_H */

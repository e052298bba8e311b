/* Monotonic clock in nanoseconds, for deadlines and latencies. */
#ifndef TAS_APPS_MONO_TIME_H
#define TAS_APPS_MONO_TIME_H

#include <stdint.h>
#include <time.h>

#define NS_PER_SEC 1000000000ull

static inline uint64_t mono_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * NS_PER_SEC + (uint64_t)now.tv_nsec;
}

static inline uint64_t seconds_to_ns(double seconds)
{
	return (uint64_t)(seconds * (double)NS_PER_SEC);
}

/* Milliseconds until deadline_ns, rounded up, for poll-style timeouts. */
static inline int ms_until(uint64_t deadline_ns, uint64_t now_ns)
{
	uint64_t left;

	if (now_ns >= deadline_ns)
		return 0;
	left = (deadline_ns - now_ns + 999999) / 1000000;
	return left > 1000000 ? 1000000 : (int)left;
}

#endif /* TAS_APPS_MONO_TIME_H */

#include "rpc_stats.h"

#include <math.h>
#include <string.h>

#define HALF_RANGE (1u << (RPC_STATS_MANTISSA_BITS - 1))
#define MAX_VALUE ((1ull << RPC_STATS_MAX_NS_LOG2) - 1)

/* Keep the top RPC_STATS_MANTISSA_BITS bits of the value: the bucket is
 * (shift, mantissa) flattened as shift * HALF_RANGE + mantissa, where
 * mantissa lies in [HALF_RANGE, 2 * HALF_RANGE) once shift > 0. */
static unsigned bucket_of(uint64_t value)
{
	unsigned msb, shift;

	if (value > MAX_VALUE)
		value = MAX_VALUE;
	if (value < (1ull << RPC_STATS_MANTISSA_BITS))
		return (unsigned)value;
	msb = 63u - (unsigned)__builtin_clzll(value);
	shift = msb - (RPC_STATS_MANTISSA_BITS - 1);
	return shift * HALF_RANGE + (unsigned)(value >> shift);
}

/* Middle of the bucket's value range. */
static uint64_t bucket_value(unsigned bucket)
{
	unsigned shift, mantissa;

	if (bucket < (1u << RPC_STATS_MANTISSA_BITS))
		return bucket;
	shift = bucket / HALF_RANGE - 1;
	mantissa = bucket - shift * HALF_RANGE;
	return ((uint64_t)mantissa << shift) + ((1ull << shift) >> 1);
}

void rpc_stats_init(struct rpc_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
}

void rpc_stats_record(struct rpc_stats *stats, uint64_t latency_ns)
{
	stats->buckets[bucket_of(latency_ns)]++;
	stats->count++;
}

void rpc_stats_merge(struct rpc_stats *into, const struct rpc_stats *from)
{
	for (unsigned i = 0; i < RPC_STATS_BUCKETS; i++)
		into->buckets[i] += from->buckets[i];
	into->count += from->count;
}

uint64_t rpc_stats_quantile_ns(const struct rpc_stats *stats, double q)
{
	uint64_t rank, seen = 0;

	if (stats->count == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)stats->count);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < RPC_STATS_BUCKETS; i++) {
		seen += stats->buckets[i];
		if (seen >= rank)
			return bucket_value(i);
	}
	return bucket_value(RPC_STATS_BUCKETS - 1);
}

/*
 * Request latency histogram, log-linear in nanoseconds (as HdrHistogram):
 * values below 2^RPC_STATS_MANTISSA_BITS are exact; above, each power of
 * two is split into 2^(RPC_STATS_MANTISSA_BITS - 1) equal buckets, so a
 * reported percentile is within 1/64 (1.6 %) of the true value.
 */
#ifndef TAS_APPS_RPC_STATS_H
#define TAS_APPS_RPC_STATS_H

#include <stdint.h>

#define RPC_STATS_MANTISSA_BITS 7
#define RPC_STATS_MAX_NS_LOG2 40 /* ~18 minutes; larger values clamp */
#define RPC_STATS_BUCKETS \
	((RPC_STATS_MAX_NS_LOG2 - RPC_STATS_MANTISSA_BITS + 2) << \
	 (RPC_STATS_MANTISSA_BITS - 1))

struct rpc_stats {
	uint64_t count;
	uint64_t buckets[RPC_STATS_BUCKETS];
};

void rpc_stats_init(struct rpc_stats *stats);
void rpc_stats_record(struct rpc_stats *stats, uint64_t latency_ns);
void rpc_stats_merge(struct rpc_stats *into, const struct rpc_stats *from);

/* Latency at quantile q (0 < q <= 1) in ns; 0 if nothing was recorded. */
uint64_t rpc_stats_quantile_ns(const struct rpc_stats *stats, double q);

#endif /* TAS_APPS_RPC_STATS_H */

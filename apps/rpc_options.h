/* Command line and summary line of the RPC clients (tas-rpc-client,
 * linux-rpc-client). */
#ifndef TAS_APPS_RPC_OPTIONS_H
#define TAS_APPS_RPC_OPTIONS_H

#include <stdint.h>

#include "rpc_stats.h"

struct rpc_options {
	uint32_t ip;       /* host byte order */
	uint16_t port;
	uint32_t size;     /* bytes per request (and per response) */
	unsigned conns;
	unsigned inflight; /* outstanding requests per connection */
	double duration;   /* measured seconds, after the warm-up */
	double warmup;
	unsigned threads;
};

/* Parse argv; exits 2 on bad arguments, 0 after --help. */
void rpc_options_parse(struct rpc_options *options, int argc, char **argv);

/* Connections of thread `thread` when options->conns are dealt out. */
unsigned rpc_thread_conns(const struct rpc_options *options, unsigned thread);

/* Print the summary line; returns the exit status (0 success, 1 if any
 * connection failed or no request completed). */
int rpc_report(const struct rpc_options *options,
	       const struct rpc_stats *latencies, double measured_seconds,
	       uint64_t errors);

#endif /* TAS_APPS_RPC_OPTIONS_H */

/*
 * The RPC clients' threads: deal out the connections, give every thread
 * the same measurement window, and merge latencies and errors into the
 * summary line.  The transport-specific part is one function per thread.
 */
#ifndef TAS_APPS_RPC_RUN_H
#define TAS_APPS_RPC_RUN_H

#include <pthread.h>
#include <stdint.h>

#include "rpc_conn.h"
#include "rpc_options.h"
#include "rpc_stats.h"

struct rpc_thread {
	pthread_t thread;
	const struct rpc_options *options;
	unsigned conn_count;        /* this thread's share of --conns */
	uint64_t measure_start_ns;  /* end of warm-up */
	uint64_t measure_end_ns;    /* end of the run */
	uint64_t errors;            /* failed connections */
	struct rpc_stats latencies;
	void (*body)(struct rpc_thread *thread);
};

/* Run body on options->threads threads, print the summary line and
 * return the exit status. */
int rpc_run_threads(const struct rpc_options *options,
		    void (*body)(struct rpc_thread *thread));

/* `len` response bytes arrived on conn now: rpc_conn_received, with
 * latencies recorded only inside the measurement window. */
int rpc_thread_received(struct rpc_thread *thread, struct rpc_conn *conn,
			uint64_t len);

#endif /* TAS_APPS_RPC_RUN_H */

#include "rpc_run.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mono_time.h"

static void *thread_main(void *arg)
{
	struct rpc_thread *thread = arg;

	thread->body(thread);
	return NULL;
}

int rpc_run_threads(const struct rpc_options *options,
		    void (*body)(struct rpc_thread *thread))
{
	struct rpc_thread *threads = calloc(options->threads, sizeof(*threads));
	struct rpc_stats *latencies = malloc(sizeof(*latencies));
	uint64_t start_ns = mono_now_ns();
	uint64_t errors = 0;
	int status;

	if (!threads || !latencies) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < options->threads; i++) {
		struct rpc_thread *thread = &threads[i];
		int error;

		thread->options = options;
		thread->conn_count = rpc_thread_conns(options, i);
		thread->measure_start_ns = start_ns +
			seconds_to_ns(options->warmup);
		thread->measure_end_ns = thread->measure_start_ns +
			seconds_to_ns(options->duration);
		thread->body = body;
		rpc_stats_init(&thread->latencies);
		error = pthread_create(&thread->thread, NULL, thread_main,
				       thread);
		if (error != 0) {
			fprintf(stderr, "starting thread: %s\n",
				strerror(error));
			return 1;
		}
	}
	rpc_stats_init(latencies);
	for (unsigned i = 0; i < options->threads; i++) {
		pthread_join(threads[i].thread, NULL);
		rpc_stats_merge(latencies, &threads[i].latencies);
		errors += threads[i].errors;
	}
	status = rpc_report(options, latencies, options->duration, errors);
	free(latencies);
	free(threads);
	return status;
}

static bool is_measuring(const struct rpc_thread *thread, uint64_t now_ns)
{
	return now_ns >= thread->measure_start_ns &&
	       now_ns < thread->measure_end_ns;
}

int rpc_thread_received(struct rpc_thread *thread, struct rpc_conn *conn,
			uint64_t len)
{
	uint64_t now_ns = mono_now_ns();

	return rpc_conn_received(conn, len, now_ns,
		is_measuring(thread, now_ns) ? &thread->latencies : NULL);
}

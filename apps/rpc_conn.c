#include "rpc_conn.h"

#include <stdlib.h>
#include <string.h>

int rpc_conn_init(struct rpc_conn *conn, uint32_t size, uint32_t inflight)
{
	memset(conn, 0, sizeof(*conn));
	conn->size = size;
	conn->inflight = inflight;
	conn->issued_ns = calloc(inflight, sizeof(*conn->issued_ns));
	return conn->issued_ns ? 0 : -1;
}

void rpc_conn_free(struct rpc_conn *conn)
{
	free(conn->issued_ns);
	conn->issued_ns = NULL;
}

static void issue(struct rpc_conn *conn, uint64_t now_ns)
{
	uint32_t slot = (conn->oldest + conn->outstanding) % conn->inflight;

	conn->issued_ns[slot] = now_ns;
	conn->outstanding++;
	conn->unsent += conn->size;
}

void rpc_conn_start(struct rpc_conn *conn, uint64_t now_ns)
{
	conn->issuing = true;
	while (conn->outstanding < conn->inflight)
		issue(conn, now_ns);
}

void rpc_conn_sent(struct rpc_conn *conn, uint64_t len)
{
	conn->unsent -= len;
	conn->sent += len;
}

static void complete_oldest(struct rpc_conn *conn, uint64_t now_ns,
			    struct rpc_stats *latencies)
{
	if (latencies)
		rpc_stats_record(latencies,
				 now_ns - conn->issued_ns[conn->oldest]);
	conn->oldest = (conn->oldest + 1) % conn->inflight;
	conn->outstanding--;
	conn->partial -= conn->size;
}

int rpc_conn_received(struct rpc_conn *conn, uint64_t len, uint64_t now_ns,
		      struct rpc_stats *latencies)
{
	int completed = 0;

	conn->received += len;
	if (conn->received > conn->sent)
		return -1;
	conn->partial += len;
	while (conn->partial >= conn->size) {
		complete_oldest(conn, now_ns, latencies);
		completed++;
		if (conn->issuing)
			issue(conn, now_ns);
	}
	return completed;
}

void rpc_conn_stop_issuing(struct rpc_conn *conn)
{
	conn->issuing = false;
}

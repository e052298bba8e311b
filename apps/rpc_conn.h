/*
 * Request bookkeeping of one RPC client connection, independent of the
 * transport: which requests are outstanding since when, how many request
 * bytes still have to be handed to the transport, and which responses
 * have completed.  Responses come back in order (an echo), so the oldest
 * outstanding request completes with every `size` bytes received.
 */
#ifndef TAS_APPS_RPC_CONN_H
#define TAS_APPS_RPC_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "rpc_stats.h"

struct rpc_conn {
	uint32_t size;
	uint32_t inflight;
	uint64_t *issued_ns;   /* ring of issue times, oldest at `oldest` */
	uint32_t oldest;
	uint32_t outstanding;
	uint64_t unsent;       /* request bytes not yet given to the transport */
	uint64_t sent;         /* request bytes given to the transport */
	uint64_t received;     /* response bytes */
	uint64_t partial;      /* bytes received of the oldest response */
	bool issuing;          /* replace completed requests */
};

/* Returns 0 or -1 (out of memory). */
int rpc_conn_init(struct rpc_conn *conn, uint32_t size, uint32_t inflight);
void rpc_conn_free(struct rpc_conn *conn);

/* The connection is up: issue `inflight` requests at now_ns. */
void rpc_conn_start(struct rpc_conn *conn, uint64_t now_ns);

/* The transport took `len` more request bytes. */
void rpc_conn_sent(struct rpc_conn *conn, uint64_t len);

/* `len` response bytes arrived at now_ns; completed requests go into
 * latencies (unless NULL) and, while issuing, are replaced by new ones.
 * Returns the number completed, or -1 if more came back than was sent. */
int rpc_conn_received(struct rpc_conn *conn, uint64_t len, uint64_t now_ns,
		      struct rpc_stats *latencies);

/* Stop replacing completed requests (end of the run). */
void rpc_conn_stop_issuing(struct rpc_conn *conn);

#endif /* TAS_APPS_RPC_CONN_H */

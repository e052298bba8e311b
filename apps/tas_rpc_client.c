/*
 * tas-rpc-client: closed-loop request/response load on libtas.  Each
 * thread owns a context and a share of the connections.  Run: connect
 * and keep `inflight` requests outstanding per connection until the end
 * of warm-up plus duration (latencies are recorded only inside that
 * window), then half-close every connection, drain the echoes still in
 * flight, close, and wait for the service to release the connections.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <tas/tas.h>

#include "mono_time.h"
#include "rpc_conn.h"
#include "rpc_options.h"
#include "rpc_run.h"

#define EVENT_BATCH 64
#define DRAIN_NS (2 * NS_PER_SEC)

enum conn_phase {
	CONN_CONNECTING,
	CONN_RUNNING,
	CONN_DRAINING, /* our FIN is out; waiting for the peer's */
	CONN_CLOSING,  /* tas_close/tas_abort issued; waiting for CLOSED */
	CONN_DONE,
};

struct client_conn {
	struct tas_conn *conn;
	enum conn_phase phase;
	struct rpc_conn rpc;
};

struct client_thread {
	struct rpc_thread *run;
	unsigned live;          /* conns not yet DONE */
	struct client_conn *conns;
	struct tas_context *ctx;
};

static void conn_set_done(struct client_thread *thread,
			  struct client_conn *conn)
{
	if (conn->phase == CONN_DONE)
		return;
	conn->phase = CONN_DONE;
	thread->live--;
}

static void conn_fail(struct client_thread *thread, struct client_conn *conn,
		      const char *why, int error)
{
	if (conn->phase == CONN_CLOSING || conn->phase == CONN_DONE)
		return;
	if (conn->phase != CONN_DRAINING) {
		fprintf(stderr, "connection failed: %s%s%s\n", why,
			error ? ": " : "", error ? strerror(error) : "");
		thread->run->errors++;
	}
	conn->phase = CONN_CLOSING;
	if (tas_abort(conn->conn) < 0)
		conn_set_done(thread, conn);
}

static bool is_open(const struct client_conn *conn)
{
	return conn->phase == CONN_RUNNING || conn->phase == CONN_DRAINING;
}

static void receive_all(struct client_thread *thread, struct client_conn *conn)
{
	while (is_open(conn)) {
		void *data;
		size_t len = tas_recv_peek(conn->conn, &data);
		int error;

		if (len == 0)
			return;
		if (rpc_thread_received(thread->run, &conn->rpc, len) < 0) {
			conn_fail(thread, conn,
				  "more bytes came back than were sent", 0);
			return;
		}
		error = tas_recv_release(conn->conn, len);
		if (error < 0)
			conn_fail(thread, conn, "tas_recv_release", -error);
	}
}

static void send_requests(struct client_thread *thread,
			  struct client_conn *conn)
{
	while (conn->phase == CONN_RUNNING && conn->rpc.unsent > 0) {
		void *space;
		size_t len = tas_send_reserve(conn->conn, &space);
		int error;

		if (len == 0)
			return; /* TAS_EV_WRITABLE resumes */
		if (len > conn->rpc.unsent)
			len = (size_t)conn->rpc.unsent;
		memset(space, 0, len); /* content does not matter to an echo */
		error = tas_send_commit(conn->conn, len);
		if (error < 0) {
			conn_fail(thread, conn, "tas_send_commit", -error);
			return;
		}
		rpc_conn_sent(&conn->rpc, len);
	}
}

static void on_connected(struct client_thread *thread,
			 struct client_conn *conn, int status)
{
	if (status < 0) {
		fprintf(stderr, "connection failed: connect: %s\n",
			strerror(-status));
		thread->run->errors++;
		conn_set_done(thread, conn);
		return;
	}
	conn->phase = CONN_RUNNING;
	rpc_conn_start(&conn->rpc, mono_now_ns());
	send_requests(thread, conn);
}

static void on_peer_closed(struct client_thread *thread,
			   struct client_conn *conn)
{
	receive_all(thread, conn);
	if (conn->phase == CONN_RUNNING) {
		conn_fail(thread, conn, "server closed", 0);
	} else if (conn->phase == CONN_DRAINING) {
		conn->phase = CONN_CLOSING;
		if (tas_close(conn->conn) < 0)
			conn_set_done(thread, conn);
	}
}

static void handle_event(struct client_thread *thread,
			 const struct tas_event *event)
{
	struct client_conn *conn = event->user_data;

	if (!conn) {
		if (event->type == TAS_EV_ERROR)
			fprintf(stderr, "tas error: %s\n",
				strerror(-event->status));
		return;
	}
	switch (event->type) {
	case TAS_EV_CONNECTED:
		on_connected(thread, conn, event->status);
		break;
	case TAS_EV_DATA:
		receive_all(thread, conn);
		send_requests(thread, conn);
		break;
	case TAS_EV_WRITABLE:
		send_requests(thread, conn);
		break;
	case TAS_EV_PEER_CLOSED:
		on_peer_closed(thread, conn);
		break;
	case TAS_EV_RESET:
		/* libtas wants a close even after a reset; CLOSED follows. */
		conn_fail(thread, conn, "reset by the server", 0);
		break;
	case TAS_EV_ERROR:
		conn_fail(thread, conn, "tas error", -event->status);
		break;
	case TAS_EV_CLOSED:
		conn_set_done(thread, conn);
		break;
	default:
		break;
	}
}

static int open_conns(struct client_thread *thread)
{
	const struct rpc_options *options = thread->run->options;

	for (unsigned i = 0; i < thread->run->conn_count; i++) {
		struct client_conn *conn = &thread->conns[i];
		int error;

		if (rpc_conn_init(&conn->rpc, options->size,
				  options->inflight) != 0) {
			fprintf(stderr, "out of memory\n");
			return -1;
		}
		error = tas_connect(thread->ctx, options->ip, options->port,
				    conn, &conn->conn);
		if (error < 0) {
			fprintf(stderr, "tas_connect: %s\n", strerror(-error));
			return -1;
		}
		thread->live++;
	}
	return 0;
}

static void run_until(struct client_thread *thread, uint64_t deadline_ns)
{
	struct tas_event events[EVENT_BATCH];
	uint64_t now_ns;

	while (thread->live > 0 && (now_ns = mono_now_ns()) < deadline_ns) {
		int count = tas_wait(thread->ctx, events, EVENT_BATCH,
				     ms_until(deadline_ns, now_ns));

		if (count < 0 && count != -EINTR) {
			fprintf(stderr, "tas_wait: %s\n", strerror(-count));
			thread->run->errors++;
			return;
		}
		for (int i = 0; i < count; i++)
			handle_event(thread, &events[i]);
	}
}

/* Half-close everything; what is still connecting at the end failed. */
static void start_draining(struct client_thread *thread)
{
	for (unsigned i = 0; i < thread->run->conn_count; i++) {
		struct client_conn *conn = &thread->conns[i];

		if (conn->phase == CONN_CONNECTING) {
			fprintf(stderr, "connection failed: connect did not "
				"complete\n");
			thread->run->errors++;
			conn->phase = CONN_CLOSING;
			if (tas_abort(conn->conn) < 0)
				conn_set_done(thread, conn);
		} else if (conn->phase == CONN_RUNNING) {
			rpc_conn_stop_issuing(&conn->rpc);
			conn->phase = CONN_DRAINING;
			if (tas_shutdown(conn->conn, SHUT_WR) < 0)
				conn_fail(thread, conn, "tas_shutdown", 0);
		}
	}
}

static void thread_body(struct rpc_thread *run)
{
	struct client_thread thread = { .run = run };

	thread.ctx = tas_context_create();
	thread.conns = calloc(run->conn_count, sizeof(*thread.conns));
	if (!thread.ctx || !thread.conns) {
		fprintf(stderr, "tas_context_create: %s\n", strerror(errno));
		run->errors++;
		free(thread.conns);
		return;
	}
	if (open_conns(&thread) != 0) {
		run->errors++;
	} else {
		run_until(&thread, run->measure_end_ns);
		start_draining(&thread);
		run_until(&thread, run->measure_end_ns + DRAIN_NS);
	}
	for (unsigned i = 0; i < run->conn_count; i++)
		rpc_conn_free(&thread.conns[i].rpc);
	free(thread.conns);
}

int main(int argc, char **argv)
{
	struct rpc_options options;
	int status;

	rpc_options_parse(&options, argc, argv);
	status = tas_init(NULL);
	if (status < 0) {
		fprintf(stderr, "tas_init: %s\n", strerror(-status));
		return 1;
	}
	status = rpc_run_threads(&options, thread_body);
	tas_fini();
	return status;
}

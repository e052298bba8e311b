/*
 * tas-echo-server: echoes every byte back, on libtas, zero-copy: received
 * bytes are copied straight from the receive buffer into reserved space
 * of the send buffer.  When the send buffer is full the connection stops
 * consuming (its receive window closes, back-pressuring the peer) until
 * TAS_EV_WRITABLE.
 *
 * Threads: one context each.  The service allows one listener per port
 * but takes accepts for it from any context of the application, so the
 * listener is opened once, through the first context, and every thread
 * keeps its own accepts outstanding on it: new connections land on
 * whichever thread asked.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tas/tas.h>

#include "echo_options.h"
#include "mono_time.h"
#include "stop_signal.h"

#define EVENT_BATCH 64
#define ACCEPTS_OUTSTANDING 8
#define STOP_CHECK_MS 200 /* how long a worker may miss the stop flag */
#define ACCEPT_RETRY_NS (100 * 1000 * 1000ull) /* after a failed accept */

struct echo_conn {
	struct tas_conn *conn;
	bool peer_fin;
	bool closing;
	struct echo_conn *prev, *next;
};

struct echo_worker {
	pthread_t thread;
	unsigned index;
	struct tas_context *ctx;
	struct echo_conn *conns;  /* accepting or accepted, not yet CLOSED */
	unsigned accepts_outstanding;
	uint64_t accept_retry_ns; /* no new accepts before this time */
	uint64_t connections;
	uint64_t bytes;
};

static struct tas_listener *listener;
static atomic_bool stopping;

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void conn_link(struct echo_worker *worker, struct echo_conn *conn)
{
	conn->next = worker->conns;
	if (worker->conns)
		worker->conns->prev = conn;
	worker->conns = conn;
}

static void conn_unlink_free(struct echo_worker *worker,
			     struct echo_conn *conn)
{
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		worker->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	free(conn);
}

/* Other threads' accepts are refused (-EAGAIN) until the listener is up:
 * wait a little rather than spin. */
static void accept_refused(struct echo_worker *worker, int error)
{
	if (error != -EAGAIN)
		fprintf(stderr, "tas_accept: %s\n", strerror(-error));
	worker->accept_retry_ns = mono_now_ns() + ACCEPT_RETRY_NS;
}

/* Each accept carries the echo_conn its connection will use, so events
 * for the new connection find it even within the same batch.  It is on
 * the worker's list from here on, so nothing leaks at exit.  After a
 * failure, wait a little rather than spin on a refusing listener. */
static void issue_accepts(struct echo_worker *worker)
{
	if (worker->accepts_outstanding == ACCEPTS_OUTSTANDING ||
	    mono_now_ns() < worker->accept_retry_ns)
		return;
	while (worker->accepts_outstanding < ACCEPTS_OUTSTANDING) {
		struct echo_conn *conn = calloc(1, sizeof(*conn));
		int error;

		if (!conn)
			return;
		error = tas_accept(worker->ctx, listener, conn);
		if (error < 0) {
			free(conn);
			accept_refused(worker, error);
			return;
		}
		conn_link(worker, conn);
		worker->accepts_outstanding++;
	}
}

static void echo_pump(struct echo_worker *worker, struct echo_conn *conn)
{
	if (conn->closing)
		return;
	for (;;) {
		void *rx, *tx;
		size_t rx_len = tas_recv_peek(conn->conn, &rx);
		size_t tx_len, len;

		if (rx_len == 0)
			break;
		tx_len = tas_send_reserve(conn->conn, &tx);
		if (tx_len == 0)
			return; /* TAS_EV_WRITABLE resumes */
		len = min_size(rx_len, tx_len);
		memcpy(tx, rx, len);
		if (tas_send_commit(conn->conn, len) < 0 ||
		    tas_recv_release(conn->conn, len) < 0) {
			tas_abort(conn->conn);
			conn->closing = true;
			return;
		}
		worker->bytes += len;
	}
	if (conn->peer_fin) {
		tas_close(conn->conn);
		conn->closing = true;
	}
}

/* libtas reports a failed accept as TAS_EV_ERROR on the listener. */
static void accept_failed(struct echo_worker *worker, struct echo_conn *conn,
			  int status)
{
	fprintf(stderr, "accept failed: %s\n", strerror(-status));
	worker->accepts_outstanding--;
	conn_unlink_free(worker, conn);
	worker->accept_retry_ns = mono_now_ns() + ACCEPT_RETRY_NS;
}

static void on_accepted(struct echo_worker *worker, struct echo_conn *conn,
			struct tas_conn *accepted)
{
	worker->accepts_outstanding--;
	conn->conn = accepted;
	worker->connections++;
	echo_pump(worker, conn);
}

static void handle_event(struct echo_worker *worker,
			 const struct tas_event *event)
{
	struct echo_conn *conn = event->user_data;

	if (!conn) {
		/* Every connection of ours has an echo_conn: this is about
		 * the listener or the context. */
		if (event->type == TAS_EV_ERROR)
			fprintf(stderr, "tas error: %s\n",
				strerror(-event->status));
		return;
	}
	if (event->type == TAS_EV_ACCEPTED) {
		if (event->status < 0 || !event->conn)
			accept_failed(worker, conn, event->status);
		else
			on_accepted(worker, conn, event->conn);
		return;
	}
	if (event->type == TAS_EV_ERROR && !event->conn && event->listener) {
		accept_failed(worker, conn, event->status);
		return;
	}
	if (!event->conn)
		return;
	switch (event->type) {
	case TAS_EV_DATA:
	case TAS_EV_WRITABLE:
		echo_pump(worker, conn);
		break;
	case TAS_EV_PEER_CLOSED:
		conn->peer_fin = true;
		echo_pump(worker, conn);
		break;
	case TAS_EV_RESET:
	case TAS_EV_ERROR:
		/* libtas wants a close even after a reset; CLOSED follows. */
		if (!conn->closing) {
			tas_abort(conn->conn);
			conn->closing = true;
		}
		break;
	case TAS_EV_CLOSED:
		conn_unlink_free(worker, conn);
		break;
	default:
		break;
	}
}

static void *worker_main(void *arg)
{
	struct echo_worker *worker = arg;
	struct tas_event events[EVENT_BATCH];

	issue_accepts(worker);
	while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
		int count = tas_wait(worker->ctx, events, EVENT_BATCH,
				     STOP_CHECK_MS);

		if (count < 0 && count != -EINTR) {
			fprintf(stderr, "tas_wait: %s\n", strerror(-count));
			break;
		}
		for (int i = 0; i < count; i++)
			handle_event(worker, &events[i]);
		issue_accepts(worker);
	}
	while (worker->conns)
		conn_unlink_free(worker, worker->conns);
	return NULL;
}

/* Open the shared listener through ctx and wait until it is listening. */
static int start_listening(struct tas_context *ctx,
			   const struct echo_options *options)
{
	struct tas_event event;
	int error = tas_listen(ctx, options->port, options->backlog, NULL,
			       &listener);

	while (error == 0) {
		int count = tas_wait(ctx, &event, 1, -1);

		if (count < 0 && count != -EINTR)
			error = count;
		else if (count == 1 && event.type == TAS_EV_LISTENING)
			error = event.status < 0 ? event.status : 1;
		else if (count == 1 && event.type == TAS_EV_ERROR)
			error = event.status < 0 ? event.status : -EIO;
	}
	if (error < 0) {
		fprintf(stderr, "listen on port %u: %s\n", options->port,
			strerror(-error));
		return -1;
	}
	return 0;
}

static int start_workers(struct echo_worker *workers,
			 const struct echo_options *options)
{
	for (unsigned i = 0; i < options->threads; i++) {
		workers[i].index = i;
		workers[i].ctx = tas_context_create();
		if (!workers[i].ctx) {
			perror("tas_context_create");
			return -1;
		}
	}
	if (start_listening(workers[0].ctx, options) != 0)
		return -1;
	for (unsigned i = 0; i < options->threads; i++) {
		int error = pthread_create(&workers[i].thread, NULL,
					   worker_main, &workers[i]);

		if (error != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(error));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct echo_options options;
	struct echo_worker *workers;
	uint64_t connections = 0, bytes = 0;
	int error;

	echo_options_parse(&options, argc, argv);
	stop_signal_block();
	error = tas_init(NULL);
	if (error < 0) {
		fprintf(stderr, "tas_init: %s\n", strerror(-error));
		return 1;
	}
	workers = calloc(options.threads, sizeof(*workers));
	if (!workers || start_workers(workers, &options) != 0)
		return 1;
	stop_signal_wait();
	atomic_store(&stopping, true);
	for (unsigned i = 0; i < options.threads; i++) {
		pthread_join(workers[i].thread, NULL);
		connections += workers[i].connections;
		bytes += workers[i].bytes;
	}
	echo_report(connections, bytes);
	tas_fini();
	free(workers);
	return 0;
}

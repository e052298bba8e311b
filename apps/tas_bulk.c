/*
 * tas-bulk: content-verified bulk transfer on libtas.  One context, one
 * event loop.  Data moves zero-copy: the pattern is generated straight
 * into reserved send-buffer space and verified in place in the receive
 * buffer.  bulk_stream decides about FIN, reset and close; a connection
 * counts as done only at TAS_EV_CLOSED, since the service resets
 * whatever is still open when the process leaves.  A connection pausing
 * (--pause-after) releases nothing, so its window closes; the loop wakes
 * itself when the pause ends, since no event would come for it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <tas/tas.h>

#include "bulk_options.h"
#include "bulk_report.h"
#include "bulk_stream.h"
#include "mono_time.h"

#define EVENT_BATCH 64
#define ACCEPTS_OUTSTANDING 32

struct bulk_conn {
	struct tas_conn *conn;   /* NULL before it exists and after CLOSED */
	bool established;
	bool peer_fin;           /* TAS_EV_PEER_CLOSED: EOF after the data */
	bool close_requested;    /* tas_close/tas_abort issued */
	bool done;
	struct bulk_stream stream;
};

struct bulk_run {
	const struct bulk_options *options;
	struct tas_context *ctx;
	struct tas_listener *listener;
	struct bulk_conn *conns;
	unsigned accepts_issued;
	unsigned accepted;
	unsigned done;
	uint64_t start_ns;
	uint64_t end_ns;
};

static void conn_done(struct bulk_run *run, struct bulk_conn *conn)
{
	if (conn->done)
		return;
	conn->done = true;
	run->done++;
	if (run->done == run->options->conns)
		run->end_ns = mono_now_ns();
}

/* A call failing because the peer reset the connection is a reset; the
 * TAS_EV_RESET that says so may not have been delivered yet. */
static void note_error(struct bulk_stream *stream, const char *what,
		       int error)
{
	if (error == -ECONNRESET)
		bulk_stream_peer_reset(stream);
	else
		bulk_stream_fail(stream, what, -error);
}

static void receive_all(struct bulk_conn *conn)
{
	struct bulk_stream *stream = &conn->stream;

	while (!stream->eof && !bulk_stream_is_finished(stream)) {
		size_t allowed = bulk_stream_rx_allowed(stream, mono_now_ns());
		void *data;
		size_t len;
		int error;

		if (allowed == 0)
			return; /* paused: run_events comes back at its end */
		len = tas_recv_peek(conn->conn, &data);
		if (len == 0) {
			if (conn->peer_fin)
				bulk_stream_eof(stream);
			return;
		}
		if (len > allowed)
			len = allowed;
		bulk_stream_received(stream, data, len, mono_now_ns());
		error = tas_recv_release(conn->conn, len);
		if (error < 0)
			note_error(stream, "tas_recv_release", error);
	}
}

static void send_all(struct bulk_conn *conn)
{
	struct bulk_stream *stream = &conn->stream;

	while (bulk_stream_unsent(stream) > 0 &&
	       !bulk_stream_is_finished(stream)) {
		void *space;
		size_t len = tas_send_reserve(conn->conn, &space);
		int error;

		if (len == 0)
			return; /* TAS_EV_WRITABLE resumes */
		if (len > bulk_stream_unsent(stream))
			len = (size_t)bulk_stream_unsent(stream);
		bulk_stream_fill(stream, space, len);
		error = tas_send_commit(conn->conn, len);
		if (error < 0)
			note_error(stream, "tas_send_commit", error);
		else
			bulk_stream_sent(stream, len, mono_now_ns());
	}
}

/* The stream is over: let go of the connection.  libtas wants a close
 * even after a reset, and reports TAS_EV_CLOSED when the service has
 * released it. */
static void conn_end(struct bulk_run *run, struct bulk_conn *conn)
{
	struct bulk_stream *stream = &conn->stream;
	int error;

	error = stream->aborted || stream->failed ? tas_abort(conn->conn) :
						    tas_close(conn->conn);
	conn->close_requested = true;
	if (error < 0) {
		if (!stream->reset)
			bulk_stream_fail(stream, "close", -error);
		conn_done(run, conn);
	}
}

static void conn_progress(struct bulk_run *run, struct bulk_conn *conn)
{
	struct bulk_stream *stream = &conn->stream;

	if (!conn->conn || conn->close_requested || conn->done)
		return;
	receive_all(conn);
	send_all(conn);
	if (bulk_stream_should_abort(stream))
		stream->aborted = true;
	if (bulk_stream_should_shut_wr(stream)) {
		int error = tas_shutdown(conn->conn, SHUT_WR);

		if (error == 0)
			stream->wr_shut = true;
		else
			note_error(stream, "tas_shutdown", error);
	}
	if (bulk_stream_is_finished(stream))
		conn_end(run, conn);
}

static int connect_all(struct bulk_run *run)
{
	const struct bulk_options *options = run->options;

	for (unsigned i = 0; i < options->conns; i++) {
		struct bulk_conn *conn = &run->conns[i];
		int error = tas_connect(run->ctx, options->ip, options->port,
					conn, &conn->conn);

		if (error < 0) {
			fprintf(stderr, "tas_connect: %s\n", strerror(-error));
			return -1;
		}
	}
	return 0;
}

/* Each accept carries the slot its connection will use.  Returns -1 if
 * the listener refuses. */
static int issue_accepts(struct bulk_run *run)
{
	while (run->accepts_issued < run->options->conns &&
	       run->accepts_issued - run->accepted < ACCEPTS_OUTSTANDING) {
		struct bulk_conn *conn = &run->conns[run->accepts_issued];
		int error = tas_accept(run->ctx, run->listener, conn);

		if (error < 0) {
			fprintf(stderr, "tas_accept: %s\n", strerror(-error));
			return -1;
		}
		run->accepts_issued++;
	}
	return 0;
}

/* libtas reports a failed accept as TAS_EV_ERROR on the listener; treat
 * an ACCEPTED without a connection the same way.  Either is fatal: the
 * server could not serve --conns connections. */
static int accept_failed(const struct tas_event *event)
{
	fprintf(stderr, "accept failed: %s\n", strerror(-event->status));
	return -1;
}

static int on_accepted(struct bulk_run *run, const struct tas_event *event)
{
	struct bulk_conn *conn = event->user_data;

	if (event->status < 0 || !event->conn)
		return accept_failed(event);
	if (run->accepted == 0)
		run->start_ns = mono_now_ns();
	run->accepted++;
	conn->conn = event->conn;
	conn->established = true;
	conn_progress(run, conn);
	if (run->accepted < run->options->conns)
		return issue_accepts(run);
	tas_listener_close(run->ctx, run->listener);
	run->listener = NULL;
	return 0;
}

static void on_connected(struct bulk_run *run, const struct tas_event *event)
{
	struct bulk_conn *conn = event->user_data;

	if (event->status < 0) {
		bulk_stream_fail(&conn->stream, "connect", -event->status);
		conn->conn = NULL;
		conn_done(run, conn);
		return;
	}
	conn->established = true;
	conn_progress(run, conn);
}

static void on_closed(struct bulk_run *run, struct bulk_conn *conn)
{
	conn->conn = NULL;
	if (!bulk_stream_is_finished(&conn->stream))
		bulk_stream_fail(&conn->stream, "closed by the service", 0);
	conn_done(run, conn);
}

static int on_error(struct bulk_run *run, const struct tas_event *event)
{
	struct bulk_conn *conn = event->user_data;

	if (!event->conn && event->listener)
		return accept_failed(event);
	if (!event->conn || !conn) {
		fprintf(stderr, "tas error: %s\n", strerror(-event->status));
		return 0;
	}
	/* Once we closed or reset it, the service may reject commands that
	 * were still on their way (e.g. an RX_RELEASE behind an abort): the
	 * outcome is settled by then. */
	if (conn->close_requested || conn->done)
		return 0;
	bulk_stream_fail(&conn->stream, "tas error", -event->status);
	conn_progress(run, conn);
	return 0;
}

/* Returns -1 if the run cannot go on. */
static int handle_event(struct bulk_run *run, const struct tas_event *event)
{
	struct bulk_conn *conn = event->user_data;

	switch (event->type) {
	case TAS_EV_LISTENING:
		if (event->status < 0) {
			fprintf(stderr, "listen on port %u: %s\n",
				run->options->port, strerror(-event->status));
			return -1;
		}
		/* The service answers SYNs from now on: a test that must not
		 * probe the port (it counts SYNs) waits for this line. */
		fprintf(stderr, "listening on port %u\n", run->options->port);
		return issue_accepts(run);
	case TAS_EV_ACCEPTED:
		return on_accepted(run, event);
	case TAS_EV_CONNECTED:
		on_connected(run, event);
		break;
	case TAS_EV_PEER_CLOSED:
		conn->peer_fin = true;
		conn_progress(run, conn);
		break;
	case TAS_EV_DATA:
	case TAS_EV_WRITABLE:
		conn_progress(run, conn);
		break;
	case TAS_EV_RESET:
		if (!conn->close_requested && !conn->done) {
			bulk_stream_peer_reset(&conn->stream);
			conn_end(run, conn);
		}
		break;
	case TAS_EV_CLOSED:
		on_closed(run, conn);
		break;
	case TAS_EV_ERROR:
		return on_error(run, event);
	case TAS_EV_ADOPTED:
	case TAS_EV_LEFT:
		break; /* tas-bulk does not fork */
	}
	return 0;
}

/* Connection events carry the bulk_conn given to tas_connect or
 * tas_accept; anything else is not ours to act on. */
static bool is_ours(const struct tas_event *event)
{
	switch (event->type) {
	case TAS_EV_LISTENING:
	case TAS_EV_ERROR:
		return true;
	default:
		return event->user_data != NULL;
	}
}

/* Connections whose pause is over read again; returns when the next
 * pause ends (UINT64_MAX: none is on).  Only with --pause-after. */
static uint64_t resume_paused(struct bulk_run *run, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < run->options->conns; i++) {
		struct bulk_conn *conn = &run->conns[i];

		if (bulk_stream_take_resume(&conn->stream, now_ns))
			conn_progress(run, conn);
		else if (bulk_stream_resume_ns(&conn->stream) < next)
			next = bulk_stream_resume_ns(&conn->stream);
	}
	return next;
}

/* Returns false on timeout or failure. */
static bool run_events(struct bulk_run *run, uint64_t deadline_ns)
{
	struct tas_event events[EVENT_BATCH];

	while (run->done < run->options->conns) {
		uint64_t now_ns = mono_now_ns();
		uint64_t wake_ns = deadline_ns;
		int count;

		if (now_ns >= deadline_ns)
			return false;
		if (run->options->pause) {
			uint64_t resume_ns = resume_paused(run, now_ns);

			if (resume_ns < wake_ns)
				wake_ns = resume_ns;
		}
		count = tas_wait(run->ctx, events, EVENT_BATCH,
				 ms_until(wake_ns, now_ns));
		if (count < 0 && count != -EINTR) {
			fprintf(stderr, "tas_wait: %s\n", strerror(-count));
			return false;
		}
		for (int i = 0; i < count; i++)
			if (is_ours(&events[i]) &&
			    handle_event(run, &events[i]) != 0)
				return false;
	}
	return true;
}

static int start(struct bulk_run *run)
{
	const struct bulk_options *options = run->options;
	int error = tas_init(NULL);

	if (error < 0) {
		fprintf(stderr, "tas_init: %s\n", strerror(-error));
		return -1;
	}
	run->ctx = tas_context_create();
	if (!run->ctx) {
		perror("tas_context_create");
		return -1;
	}
	if (options->role == BULK_CLIENT)
		return connect_all(run);
	error = tas_listen(run->ctx, options->port, options->conns, NULL,
			   &run->listener);
	if (error < 0) {
		fprintf(stderr, "tas_listen: %s\n", strerror(-error));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bulk_options options;
	struct bulk_report report;
	struct bulk_run run = { .options = &options };
	uint64_t deadline_ns;
	bool finished;
	int status;

	bulk_options_parse(&options, argc, argv, false);
	run.conns = calloc(options.conns, sizeof(*run.conns));
	if (!run.conns) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < options.conns; i++)
		bulk_stream_init(&run.conns[i].stream, &options, i);
	run.start_ns = mono_now_ns();
	deadline_ns = run.start_ns + seconds_to_ns(options.timeout);
	if (start(&run) != 0)
		return 1;
	finished = run_events(&run, deadline_ns);
	if (!finished)
		run.end_ns = mono_now_ns();

	bulk_report_init(&report);
	for (unsigned i = 0; i < options.conns; i++) {
		if (!run.conns[i].established)
			continue;
		bulk_report_add(&report, &run.conns[i].stream);
		if (options.per_conn)
			bulk_report_print_conn(&run.conns[i].stream, run.start_ns);
	}
	status = bulk_report_print(&report, &options,
		(double)(run.end_ns - run.start_ns) / NS_PER_SEC, !finished);
	tas_fini();
	free(run.conns);
	return status;
}

/*
 * linux-bulk: content-verified bulk transfer on kernel sockets.  One
 * thread, one edge-triggered epoll loop over all connections; each
 * readiness event reads until EAGAIN (verifying the pattern) and writes
 * until EAGAIN, then lets bulk_stream decide about FIN, reset and close.
 * A connection pausing (--pause-after) stops reading with data still
 * waiting; no new edge comes for it, so the loop wakes itself when the
 * pause ends.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bulk_options.h"
#include "bulk_report.h"
#include "bulk_stream.h"
#include "fd_limit.h"
#include "linux_socket.h"
#include "mono_time.h"

#define RX_CHUNK (256 * 1024)
#define TX_CHUNK (64 * 1024)
#define EPOLL_BATCH 128

struct bulk_conn {
	int fd;
	bool connecting;
	bool established;     /* connected or accepted */
	bool released;        /* fd closed */
	struct bulk_stream stream;
};

struct bulk_run {
	const struct bulk_options *options;
	int epoll_fd;
	int listen_fd;
	struct bulk_conn *conns;
	unsigned opened;      /* connects started or connections accepted */
	unsigned released;
	uint64_t start_ns;
	uint64_t end_ns;
	uint8_t rx_buf[RX_CHUNK];
	uint8_t tx_buf[TX_CHUNK];
};

static char listener_tag;

static void conn_release(struct bulk_run *run, struct bulk_conn *conn)
{
	if (conn->stream.aborted)
		linux_socket_abort(conn->fd);
	else
		close(conn->fd);
	conn->released = true;
	run->released++;
	if (run->released == run->options->conns)
		run->end_ns = mono_now_ns();
}

static void note_error(struct bulk_stream *stream, const char *what, int error)
{
	if (linux_socket_is_reset_errno(error))
		bulk_stream_peer_reset(stream);
	else
		bulk_stream_fail(stream, what, error);
}

static void receive_all(struct bulk_run *run, struct bulk_conn *conn)
{
	struct bulk_stream *stream = &conn->stream;

	while (!stream->eof && !bulk_stream_is_finished(stream)) {
		size_t allowed = bulk_stream_rx_allowed(stream, mono_now_ns());
		ssize_t got;

		if (allowed == 0)
			return; /* paused: run_events comes back at its end */
		got = recv(conn->fd, run->rx_buf,
			   allowed < RX_CHUNK ? allowed : RX_CHUNK, 0);
		if (got > 0)
			bulk_stream_received(stream, run->rx_buf, (size_t)got,
					     mono_now_ns());
		else if (got == 0)
			bulk_stream_eof(stream);
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		else if (errno != EINTR)
			note_error(stream, "recv", errno);
	}
}

static void send_all(struct bulk_run *run, struct bulk_conn *conn)
{
	struct bulk_stream *stream = &conn->stream;

	while (bulk_stream_unsent(stream) > 0 &&
	       !bulk_stream_is_finished(stream)) {
		size_t len = bulk_stream_unsent(stream) < TX_CHUNK ?
			(size_t)bulk_stream_unsent(stream) : TX_CHUNK;
		ssize_t sent;

		bulk_stream_fill(stream, run->tx_buf, len);
		sent = send(conn->fd, run->tx_buf, len, MSG_NOSIGNAL);
		if (sent > 0)
			bulk_stream_sent(stream, (size_t)sent, mono_now_ns());
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		else if (errno != EINTR)
			note_error(stream, "send", errno);
	}
}

static void conn_progress(struct bulk_run *run, struct bulk_conn *conn)
{
	struct bulk_stream *stream = &conn->stream;

	if (conn->connecting) {
		int error = linux_socket_error(conn->fd);

		if (error == 0) {
			conn->connecting = false;
			conn->established = true;
		} else
			note_error(stream, "connect", error);
	}
	if (!conn->connecting) {
		receive_all(run, conn);
		send_all(run, conn);
	}
	if (bulk_stream_should_abort(stream))
		stream->aborted = true;
	if (bulk_stream_should_shut_wr(stream)) {
		if (shutdown(conn->fd, SHUT_WR) == 0)
			stream->wr_shut = true;
		else
			note_error(stream, "shutdown", errno);
	}
	if (bulk_stream_is_finished(stream))
		conn_release(run, conn);
}

static int conn_watch(struct bulk_run *run, struct bulk_conn *conn)
{
	struct epoll_event event = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = conn,
	};

	if (epoll_ctl(run->epoll_fd, EPOLL_CTL_ADD, conn->fd, &event) != 0) {
		perror("epoll_ctl");
		return -1;
	}
	return 0;
}

static int connect_all(struct bulk_run *run)
{
	const struct bulk_options *options = run->options;

	for (unsigned i = 0; i < options->conns; i++) {
		struct bulk_conn *conn = &run->conns[i];

		conn->fd = linux_socket_connect(options->ip, options->port,
						options->bind_ip);
		if (conn->fd < 0) {
			perror("connect");
			return -1;
		}
		conn->connecting = true;
		run->opened++;
		if (conn_watch(run, conn) != 0)
			return -1;
	}
	return 0;
}

static void accept_all(struct bulk_run *run)
{
	while (run->listen_fd >= 0) {
		int fd = accept4(run->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct bulk_conn *conn;

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE) {
				perror("accept4");
				return;
			}
			continue; /* that connection died in the queue */
		}
		if (run->opened == 0)
			run->start_ns = mono_now_ns();
		conn = &run->conns[run->opened++];
		conn->fd = fd;
		conn->established = true;
		if (conn_watch(run, conn) != 0)
			bulk_stream_fail(&conn->stream, "epoll_ctl", errno);
		conn_progress(run, conn);
		if (run->opened == run->options->conns) {
			close(run->listen_fd);
			run->listen_fd = -1;
		}
	}
}

static int start_listening(struct bulk_run *run)
{
	const struct bulk_options *options = run->options;
	struct epoll_event event = { .events = EPOLLIN | EPOLLET,
				     .data.ptr = &listener_tag };

	run->listen_fd = linux_socket_listen(options->ip, options->port,
					     options->conns, false);
	if (run->listen_fd < 0) {
		fprintf(stderr, "listen on port %u: %s\n", options->port,
			strerror(errno));
		return -1;
	}
	if (epoll_ctl(run->epoll_fd, EPOLL_CTL_ADD, run->listen_fd, &event)) {
		perror("epoll_ctl");
		return -1;
	}
	return 0;
}

/* Connections whose pause is over read again; returns when the next
 * pause ends (UINT64_MAX: none is on).  Only with --pause-after. */
static uint64_t resume_paused(struct bulk_run *run, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < run->opened; i++) {
		struct bulk_conn *conn = &run->conns[i];

		if (conn->released || !conn->established)
			continue;
		if (bulk_stream_take_resume(&conn->stream, now_ns))
			conn_progress(run, conn);
		else if (bulk_stream_resume_ns(&conn->stream) < next)
			next = bulk_stream_resume_ns(&conn->stream);
	}
	return next;
}

/* Returns false on timeout. */
static bool run_events(struct bulk_run *run, uint64_t deadline_ns)
{
	struct epoll_event events[EPOLL_BATCH];

	while (run->released < run->options->conns) {
		uint64_t now_ns = mono_now_ns();
		uint64_t wake_ns = deadline_ns;
		int count;

		if (now_ns >= deadline_ns)
			return false;
		if (run->options->pause) {
			uint64_t resume_ns = resume_paused(run, now_ns);

			if (run->released == run->options->conns)
				break;
			if (resume_ns < wake_ns)
				wake_ns = resume_ns;
		}
		count = epoll_wait(run->epoll_fd, events, EPOLL_BATCH,
				   ms_until(wake_ns, now_ns));
		if (count < 0 && errno != EINTR) {
			perror("epoll_wait");
			return false;
		}
		for (int i = 0; i < count; i++) {
			struct bulk_conn *conn = events[i].data.ptr;

			if (events[i].data.ptr == &listener_tag)
				accept_all(run);
			else if (!conn->released)
				conn_progress(run, conn);
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	struct bulk_options options;
	struct bulk_report report;
	struct bulk_run *run;
	uint64_t deadline_ns;
	bool finished;
	int status;

	bulk_options_parse(&options, argc, argv, true);
	if (fd_limit_raise(options.conns + 64) != 0) {
		fprintf(stderr, "cannot raise the open-file limit to %u\n",
			options.conns + 64);
		return 1;
	}
	run = calloc(1, sizeof(*run));
	if (run)
		run->conns = calloc(options.conns, sizeof(*run->conns));
	if (!run || !run->conns) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	run->options = &options;
	run->listen_fd = -1;
	for (unsigned i = 0; i < options.conns; i++)
		bulk_stream_init(&run->conns[i].stream, &options, i);
	run->start_ns = mono_now_ns();
	deadline_ns = run->start_ns + seconds_to_ns(options.timeout);
	run->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (run->epoll_fd < 0) {
		perror("epoll_create1");
		return 1;
	}
	if (options.role == BULK_CLIENT ? connect_all(run) :
					  start_listening(run))
		return 1;
	finished = run_events(run, deadline_ns);
	if (!finished)
		run->end_ns = mono_now_ns();

	bulk_report_init(&report);
	for (unsigned i = 0; i < run->opened; i++) {
		if (!run->conns[i].established)
			continue;
		bulk_report_add(&report, &run->conns[i].stream);
		if (options.per_conn)
			bulk_report_print_conn(&run->conns[i].stream, run->start_ns);
	}
	status = bulk_report_print(&report, &options,
		(double)(run->end_ns - run->start_ns) / NS_PER_SEC, !finished);
	free(run->conns);
	free(run);
	return status;
}

/*
 * linux-rpc-client: closed-loop request/response load on kernel sockets.
 * Each thread owns an epoll loop and a share of the connections.  Run:
 * connect and keep `inflight` requests outstanding per connection until
 * the end of warm-up plus duration (latencies are recorded only inside
 * that window), then half-close every connection and drain the echoes
 * still in flight so the server sees orderly closes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_limit.h"
#include "linux_socket.h"
#include "mono_time.h"
#include "rpc_conn.h"
#include "rpc_options.h"
#include "rpc_run.h"

#define IO_CHUNK (64 * 1024)
#define EPOLL_BATCH 64
#define DRAIN_NS (2 * NS_PER_SEC)

enum conn_phase { CONN_CONNECTING, CONN_RUNNING, CONN_DRAINING, CONN_DONE };

struct client_conn {
	int fd;
	enum conn_phase phase;
	struct rpc_conn rpc;
};

struct client_thread {
	struct rpc_thread *run;
	unsigned live;          /* conns not yet DONE */
	struct client_conn *conns;
	int epoll_fd;
	uint8_t scratch[IO_CHUNK];
};

/* Request payload: content does not matter to an echo. */
static const uint8_t request_bytes[IO_CHUNK];

static void conn_finish(struct client_thread *thread, struct client_conn *conn)
{
	close(conn->fd);
	conn->phase = CONN_DONE;
	thread->live--;
}

static void conn_fail(struct client_thread *thread, struct client_conn *conn,
		      const char *why, int error)
{
	if (conn->phase != CONN_DRAINING) {
		fprintf(stderr, "connection failed: %s%s%s\n", why,
			error ? ": " : "", error ? strerror(error) : "");
		thread->run->errors++;
	}
	conn_finish(thread, conn);
}

/* Returns false if the connection is gone. */
static bool receive_all(struct client_thread *thread, struct client_conn *conn)
{
	for (;;) {
		ssize_t got = recv(conn->fd, thread->scratch, IO_CHUNK, 0);

		if (got > 0) {
			if (rpc_thread_received(thread->run, &conn->rpc,
						(uint64_t)got) < 0) {
				conn_fail(thread, conn,
					  "more bytes came back than were sent",
					  0);
				return false;
			}
		} else if (got == 0) {
			if (conn->phase == CONN_DRAINING)
				conn_finish(thread, conn);
			else
				conn_fail(thread, conn, "server closed", 0);
			return false;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return true;
		} else if (errno != EINTR) {
			conn_fail(thread, conn, "recv", errno);
			return false;
		}
	}
}

static bool send_requests(struct client_thread *thread,
			  struct client_conn *conn)
{
	while (conn->rpc.unsent > 0 && conn->phase == CONN_RUNNING) {
		size_t len = conn->rpc.unsent < IO_CHUNK ?
			(size_t)conn->rpc.unsent : IO_CHUNK;
		ssize_t sent = send(conn->fd, request_bytes, len, MSG_NOSIGNAL);

		if (sent > 0) {
			rpc_conn_sent(&conn->rpc, (uint64_t)sent);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return true;
		} else if (errno != EINTR) {
			conn_fail(thread, conn, "send", errno);
			return false;
		}
	}
	return true;
}

static bool finish_connect(struct client_thread *thread,
			   struct client_conn *conn)
{
	int error = linux_socket_error(conn->fd);

	if (error != 0) {
		conn_fail(thread, conn, "connect", error);
		return false;
	}
	conn->phase = CONN_RUNNING;
	rpc_conn_start(&conn->rpc, mono_now_ns());
	return true;
}

static void conn_ready(struct client_thread *thread, struct client_conn *conn,
		       uint32_t events)
{
	if (conn->phase == CONN_DONE)
		return;
	if (conn->phase == CONN_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (!finish_connect(thread, conn))
			return;
	}
	if (receive_all(thread, conn))
		send_requests(thread, conn);
}

static int open_conns(struct client_thread *thread)
{
	const struct rpc_options *options = thread->run->options;

	for (unsigned i = 0; i < thread->run->conn_count; i++) {
		struct client_conn *conn = &thread->conns[i];
		struct epoll_event event = {
			.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
			.data.ptr = conn,
		};

		if (rpc_conn_init(&conn->rpc, options->size,
				  options->inflight) != 0) {
			fprintf(stderr, "out of memory\n");
			return -1;
		}
		conn->fd = linux_socket_connect(options->ip, options->port, 0);
		if (conn->fd < 0) {
			perror("connect");
			return -1;
		}
		thread->live++;
		if (epoll_ctl(thread->epoll_fd, EPOLL_CTL_ADD, conn->fd,
			      &event) != 0) {
			perror("epoll_ctl");
			return -1;
		}
	}
	return 0;
}

static void run_until(struct client_thread *thread, uint64_t deadline_ns)
{
	struct epoll_event events[EPOLL_BATCH];
	uint64_t now_ns;

	while (thread->live > 0 && (now_ns = mono_now_ns()) < deadline_ns) {
		int count = epoll_wait(thread->epoll_fd, events, EPOLL_BATCH,
				       ms_until(deadline_ns, now_ns));

		if (count < 0 && errno != EINTR) {
			perror("epoll_wait");
			thread->run->errors++;
			return;
		}
		for (int i = 0; i < count; i++)
			conn_ready(thread, events[i].data.ptr, events[i].events);
	}
}

/* Half-close everything; what is still connecting at the end failed. */
static void start_draining(struct client_thread *thread)
{
	for (unsigned i = 0; i < thread->run->conn_count; i++) {
		struct client_conn *conn = &thread->conns[i];

		if (conn->phase == CONN_CONNECTING) {
			conn_fail(thread, conn, "connect did not complete", 0);
		} else if (conn->phase == CONN_RUNNING) {
			rpc_conn_stop_issuing(&conn->rpc);
			conn->phase = CONN_DRAINING;
			shutdown(conn->fd, SHUT_WR);
		}
	}
}

static void thread_body(struct rpc_thread *run)
{
	struct client_thread *thread = calloc(1, sizeof(*thread));

	if (thread)
		thread->conns = calloc(run->conn_count, sizeof(*thread->conns));
	if (!thread || !thread->conns) {
		fprintf(stderr, "out of memory\n");
		run->errors++;
		free(thread);
		return;
	}
	thread->run = run;
	for (unsigned i = 0; i < run->conn_count; i++)
		thread->conns[i].fd = -1;
	thread->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (thread->epoll_fd < 0 || open_conns(thread) != 0) {
		run->errors++;
	} else {
		run_until(thread, run->measure_end_ns);
		start_draining(thread);
		run_until(thread, run->measure_end_ns + DRAIN_NS);
	}
	for (unsigned i = 0; i < run->conn_count; i++) {
		if (thread->conns[i].phase != CONN_DONE &&
		    thread->conns[i].fd >= 0)
			conn_finish(thread, &thread->conns[i]);
		rpc_conn_free(&thread->conns[i].rpc);
	}
	if (thread->epoll_fd >= 0)
		close(thread->epoll_fd);
	free(thread->conns);
	free(thread);
}

int main(int argc, char **argv)
{
	struct rpc_options options;

	rpc_options_parse(&options, argc, argv);
	if (fd_limit_raise(options.conns + 64) != 0) {
		fprintf(stderr, "cannot raise the open-file limit to %u\n",
			options.conns + 64);
		return 1;
	}
	return rpc_run_threads(&options, thread_body);
}

/*
 * linux-echo-server: echoes every byte back, on kernel sockets.  One
 * epoll loop per thread, each with its own SO_REUSEPORT listener so the
 * kernel spreads connections over threads.  A connection whose echo
 * cannot be written completely keeps the rest and stops reading until
 * the socket is writable again, so a slow reader gets back-pressure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "echo_options.h"
#include "fd_limit.h"
#include "linux_socket.h"
#include "stop_signal.h"

#define SCRATCH_SIZE (64 * 1024)
#define EPOLL_BATCH 64

struct echo_conn {
	int fd;
	uint8_t *unsent;     /* echo bytes the socket did not take yet */
	size_t unsent_len;
	size_t unsent_offset;
	struct echo_conn *prev, *next;
};

struct echo_worker {
	pthread_t thread;
	int epoll_fd;
	int listen_fd;
	int stop_fd;
	struct echo_conn *conns;
	uint64_t connections;
	uint64_t bytes;
	uint8_t scratch[SCRATCH_SIZE];
};

/* epoll user data for the two non-connection fds. */
static char listener_tag, stop_tag;

static void conn_close(struct echo_worker *worker, struct echo_conn *conn)
{
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		worker->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	close(conn->fd);
	free(conn->unsent);
	free(conn);
}

/* Write what the socket takes; returns bytes written or -1 on error. */
static ssize_t send_some(int fd, const uint8_t *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t sent = send(fd, data + done, len - done, MSG_NOSIGNAL);

		if (sent > 0) {
			done += (size_t)sent;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return (ssize_t)done;
}

static int keep_unsent(struct echo_conn *conn, const uint8_t *data, size_t len)
{
	conn->unsent = malloc(len);
	if (!conn->unsent)
		return -1;
	memcpy(conn->unsent, data, len);
	conn->unsent_len = len;
	conn->unsent_offset = 0;
	return 0;
}

/* Returns 1 if everything kept back is now sent, 0 if not, -1 on error. */
static int flush_unsent(struct echo_worker *worker, struct echo_conn *conn)
{
	size_t left = conn->unsent_len - conn->unsent_offset;
	ssize_t sent;

	if (!conn->unsent)
		return 1;
	sent = send_some(conn->fd, conn->unsent + conn->unsent_offset, left);
	if (sent < 0)
		return -1;
	worker->bytes += (uint64_t)sent;
	conn->unsent_offset += (size_t)sent;
	if ((size_t)sent < left)
		return 0;
	free(conn->unsent);
	conn->unsent = NULL;
	return 1;
}

/* Echo until the socket has nothing to read or cannot take more. */
static void conn_ready(struct echo_worker *worker, struct echo_conn *conn)
{
	int flushed = flush_unsent(worker, conn);

	if (flushed <= 0) {
		if (flushed < 0)
			conn_close(worker, conn);
		return;
	}
	for (;;) {
		ssize_t got = recv(conn->fd, worker->scratch, SCRATCH_SIZE, 0);
		ssize_t sent;

		if (got == 0) {
			conn_close(worker, conn);
			return;
		}
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(worker, conn);
			return;
		}
		sent = send_some(conn->fd, worker->scratch, (size_t)got);
		if (sent < 0) {
			conn_close(worker, conn);
			return;
		}
		worker->bytes += (uint64_t)sent;
		if (sent < got) {
			if (keep_unsent(conn, worker->scratch + sent,
					(size_t)(got - sent)) != 0)
				conn_close(worker, conn);
			return;
		}
	}
}

static void conn_add(struct echo_worker *worker, int fd)
{
	struct echo_conn *conn = calloc(1, sizeof(*conn));
	struct epoll_event event = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	};

	if (!conn) {
		close(fd);
		return;
	}
	conn->fd = fd;
	conn->next = worker->conns;
	if (worker->conns)
		worker->conns->prev = conn;
	worker->conns = conn;
	event.data.ptr = conn;
	linux_socket_nodelay(fd);
	if (epoll_ctl(worker->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
		perror("epoll_ctl");
		conn_close(worker, conn);
		return;
	}
	worker->connections++;
}

static void accept_all(struct echo_worker *worker)
{
	for (;;) {
		int fd = accept4(worker->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_add(worker, fd);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return;
		} else if (errno == EMFILE || errno == ENFILE) {
			perror("accept4");
			return;
		}
		/* Other errors concern one aborted connection: try the next. */
	}
}

static void *worker_main(void *arg)
{
	struct echo_worker *worker = arg;
	struct epoll_event events[EPOLL_BATCH];
	bool stopping = false;

	while (!stopping) {
		int count = epoll_wait(worker->epoll_fd, events, EPOLL_BATCH, -1);

		if (count < 0 && errno != EINTR) {
			perror("epoll_wait");
			break;
		}
		for (int i = 0; i < count; i++) {
			void *tag = events[i].data.ptr;

			if (tag == &stop_tag)
				stopping = true;
			else if (tag == &listener_tag)
				accept_all(worker);
			else
				conn_ready(worker, tag);
		}
	}
	while (worker->conns)
		conn_close(worker, worker->conns);
	return NULL;
}

static int epoll_watch(int epoll_fd, int fd, void *tag)
{
	struct epoll_event event = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

static int worker_setup(struct echo_worker *worker,
			const struct echo_options *options, int stop_fd)
{
	worker->stop_fd = stop_fd;
	worker->listen_fd = linux_socket_listen(0, options->port,
						options->backlog, true);
	if (worker->listen_fd < 0) {
		fprintf(stderr, "listen on port %u: %s\n", options->port,
			strerror(errno));
		return -1;
	}
	worker->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (worker->epoll_fd < 0 ||
	    epoll_watch(worker->epoll_fd, worker->listen_fd, &listener_tag) ||
	    epoll_watch(worker->epoll_fd, stop_fd, &stop_tag)) {
		perror("epoll");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct echo_options options;
	struct echo_worker *workers;
	uint64_t connections = 0, bytes = 0;
	uint64_t stop_value = 1;
	int stop_fd;

	echo_options_parse(&options, argc, argv, false);
	fd_limit_raise(65536);
	stop_signal_block();
	stop_fd = eventfd(0, EFD_CLOEXEC);
	workers = calloc(options.threads, sizeof(*workers));
	if (stop_fd < 0 || !workers) {
		perror("linux-echo-server");
		return 1;
	}
	for (unsigned i = 0; i < options.threads; i++)
		if (worker_setup(&workers[i], &options, stop_fd) != 0)
			return 1;
	for (unsigned i = 0; i < options.threads; i++) {
		int error = pthread_create(&workers[i].thread, NULL,
					   worker_main, &workers[i]);

		if (error != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(error));
			return 1;
		}
	}
	stop_signal_wait();
	if (write(stop_fd, &stop_value, sizeof(stop_value)) < 0)
		perror("write(stop eventfd)");
	for (unsigned i = 0; i < options.threads; i++) {
		pthread_join(workers[i].thread, NULL);
		connections += workers[i].connections;
		bytes += workers[i].bytes;
	}
	echo_report(connections, bytes);
	free(workers);
	return 0;
}

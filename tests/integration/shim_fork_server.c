/*
 * shim-fork-server: the classic forking server on plain libc sockets,
 * for the LD_PRELOAD sockets shim (doc/interpose.md, "fork and exec"):
 * the parent accepts, forks a child for each connection and closes its
 * copy at once, then accepts the next.
 *
 *   --port P         listen on INADDR_ANY, port P
 *   --handoff N      a child that has echoed N bytes forks a grandchild,
 *                    which echoes the rest (0, the default: never)
 *   --expect-moved   after the hand-over, the child checks what the shim
 *                    does to the process a connection moved away from:
 *                    poll reports POLLNVAL, read fails with EBADF, close
 *                    succeeds (on Linux both share the socket instead)
 *
 * A child waits for its connection in poll() before it first reads it,
 * echoes with read/write, and shuts the write side down at end of file;
 * a grandchild echoes from an epoll loop, with recv/send.  Each prints
 *   served: role=child|grandchild pid=P bytes=B
 * and exits 0 only if its part went as it should.  On SIGTERM the parent
 * waits for its children and prints
 *   fork_server: connections=N failed=F
 * and exits 0 only if no child failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 16384
#define WAIT_MS 30000
#define MOVED_WAIT_MS 10000

static unsigned long long handoff;
static bool expect_moved;
static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int report(const char *role, unsigned long long bytes, bool ok)
{
	printf("served: role=%s pid=%d bytes=%llu\n", role, (int)getpid(), bytes);
	fflush(stdout);
	return ok ? 0 : 1;
}

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Echo everything until end of file from an epoll loop, then shut the
 * write side down.  The epoll interest is the connection's first use. */
static bool echo_to_end(int fd, unsigned long long *bytes)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	char buf[CHUNK];
	bool ok = ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0;

	while (ok) {
		int ready = epoll_wait(ep, &ev, 1, WAIT_MS);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready != 1) {
			ok = false;
			break;
		}
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			ok = n == 0 && shutdown(fd, SHUT_WR) == 0;
			break;
		}
		ok = write_all(fd, buf, (size_t)n);
		*bytes += (unsigned long long)n;
	}
	if (ep >= 0)
		close(ep);
	return ok;
}

static void grandchild(int fd)
{
	unsigned long long bytes = 0;
	bool ok = echo_to_end(fd, &bytes);

	close(fd);
	exit(report("grandchild", bytes, ok));
}

/* What the process that lost the connection sees of it. */
static bool moved_away(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec start, now;
	char byte;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (poll(&pfd, 1, 100) == 1 && pfd.revents == POLLNVAL)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 >= MOVED_WAIT_MS)
			return false;
	}
	return read(fd, &byte, 1) < 0 && errno == EBADF;
}

static bool child_status_ok(pid_t pid)
{
	int status;

	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* Echo the first handoff bytes (all, without --handoff) with read/write
 * after a poll, then hand the connection to a grandchild. */
static void child(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned long long bytes = 0;
	char buf[CHUNK];
	bool ok = poll(&pfd, 1, WAIT_MS) == 1;

	while (ok && (handoff == 0 || bytes < handoff)) {
		size_t want = sizeof(buf);
		if (handoff > 0 && handoff - bytes < want)
			want = (size_t)(handoff - bytes);
		ssize_t n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && handoff == 0) {
			ok = shutdown(fd, SHUT_WR) == 0;
			break;
		}
		ok = n > 0 && write(fd, buf, (size_t)n) == n;
		bytes += n > 0 ? (unsigned long long)n : 0;
	}
	if (ok && handoff > 0) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0)
			grandchild(fd);
		ok = pid > 0 && (!expect_moved || moved_away(fd));
		ok = close(fd) == 0 && ok;
		ok = pid > 0 && child_status_ok(pid) && ok;
	} else {
		close(fd);
	}
	exit(report("child", bytes, ok));
}

static int listen_on(unsigned port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_port = htons((uint16_t)port),
				    .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(fd, 64) != 0) {
		perror("listen");
		exit(1);
	}
	return fd;
}

static unsigned reap(unsigned *children, int flags)
{
	unsigned failed = 0;
	int status;

	while (*children > 0 && waitpid(-1, &status, flags) > 0) {
		(*children)--;
		failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	return failed;
}

int main(int argc, char **argv)
{
	unsigned port = 0, children = 0, connections = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--handoff") == 0 && i + 1 < argc)
			handoff = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--expect-moved") == 0)
			expect_moved = true;
		else
			port = 0, i = argc;
	}
	if (port == 0 || port > 65535) {
		fprintf(stderr, "usage: %s --port P [--handoff BYTES] "
			"[--expect-moved]\n", argv[0]);
		return 2;
	}
	struct sigaction stop = { .sa_handler = on_stop };
	sigaction(SIGTERM, &stop, NULL);
	int listener = listen_on(port);
	printf("fork_server: listening\n");
	fflush(stdout);

	while (!stopping) {
		struct pollfd pfd = { .fd = listener, .events = POLLIN };

		failed += reap(&children, WNOHANG);
		if (poll(&pfd, 1, 200) != 1)
			continue;
		int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		connections++;
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			close(listener);
			child(fd);
		}
		if (pid < 0)
			failed++;
		else
			children++;
		close(fd);
	}
	failed += reap(&children, 0);
	printf("fork_server: connections=%u failed=%u\n", connections, failed);
	return failed == 0 ? 0 : 1;
}
